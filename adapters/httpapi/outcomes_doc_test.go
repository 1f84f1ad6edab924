package httpapi

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestOutcomesDocumented: docs/OPERATIONS.md's outcome table lists exactly
// the outcomes the error table (and success) can put on
// authd_auth_operations_total, its metrics row names exactly the counted
// operations, and every outcome its alerts (or any other doc) query is
// one of them. So a new error row cannot ship undocumented, nor an alert
// watch a label value that never comes.
func TestOutcomesDocumented(t *testing.T) {
	emitted := []string{outcomeSuccess, internalError.outcome}
	for _, c := range errorTable {
		emitted = append(emitted, c.outcome)
	}
	slices.Sort(emitted)
	emitted = slices.Compact(emitted)

	ops := operationsCounted(t)

	doc := readDoc(t, "../../docs/OPERATIONS.md")
	documented := outcomeTable(t, doc)
	if !slices.Equal(documented, emitted) {
		t.Errorf("docs/OPERATIONS.md's outcome table lists %q;\nthe code emits %q", documented, emitted)
	}

	row := regexp.MustCompile("(?m)^\\| `authd_auth_operations_total` \\|.*$").FindString(doc)
	m := regexp.MustCompile("`operation` \\(([^)]*)\\)").FindStringSubmatch(row)
	if m == nil {
		t.Fatalf("no operation list in the authd_auth_operations_total row: %q", row)
	}
	var docOps []string
	for _, op := range strings.Split(m[1], ",") {
		docOps = append(docOps, strings.Trim(strings.TrimSpace(op), "`"))
	}
	slices.Sort(docOps)
	if !slices.Equal(docOps, ops) {
		t.Errorf("the metrics row lists operations %q; the code counts %q", docOps, ops)
	}

	// Every outcome a query names, in any doc.
	docs, _ := filepath.Glob("../../docs/*.md")
	docs = append(docs, "../../README.md")
	query := regexp.MustCompile(`outcome="([^"]*)"`)
	for _, path := range docs {
		for _, q := range query.FindAllStringSubmatch(readDoc(t, path), -1) {
			if !slices.Contains(emitted, q[1]) {
				t.Errorf("%s queries outcome=%q, which the code never emits", path, q[1])
			}
		}
	}
}

// operationsCounted are the operation names the handlers and the rate
// limiter count, read from this package's source.
func operationsCounted(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?:countOutcome\(r, |rateLimited\()"([a-z_]+)"\)`)
	var ops []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for _, m := range re.FindAllStringSubmatch(readDoc(t, f), -1) {
			ops = append(ops, m[1])
		}
	}
	slices.Sort(ops)
	ops = slices.Compact(ops)
	if len(ops) < 5 {
		t.Fatalf("found only operations %q: has the way they are counted changed?", ops)
	}
	return ops
}

// outcomeTable is the first column of the table headed "| outcome |".
func outcomeTable(t *testing.T, doc string) []string {
	t.Helper()
	_, after, ok := strings.Cut(doc, "\n| outcome |")
	if !ok {
		t.Fatal(`docs/OPERATIONS.md has no table headed "| outcome |"`)
	}
	var outcomes []string
	for _, line := range strings.Split(after, "\n")[2:] {
		if !strings.HasPrefix(line, "| `") {
			break
		}
		cell, _, _ := strings.Cut(strings.TrimPrefix(line, "| `"), "`")
		outcomes = append(outcomes, cell)
	}
	slices.Sort(outcomes)
	return outcomes
}

func readDoc(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
