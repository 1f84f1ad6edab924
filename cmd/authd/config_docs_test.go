package main

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kelseyhightower/envconfig"
)

// testOnlyVariables are AUTH_ variables that README.md and docs/ may name
// although the server never reads them: the test helpers do. Each must be
// read by the helper named here, so the list cannot go stale.
var testOnlyVariables = map[string]string{
	"AUTH_TEST_DATABASE_URL":   "../../adapters/postgres/pgtest/pgtest.go", // pgtest: use this Postgres server
	"AUTH_TEST_POSTGRES":       "../../adapters/postgres/pgtest/pgtest.go", // pgtest: force how it gets Postgres
	"AUTH_TEST_POSTGRES_IMAGE": "../../adapters/postgres/pgtest/pgtest.go", // pgtest: the image testcontainers starts
}

// configVariable is one variable the configuration reads, as envconfig
// derives it from the config struct: its name and its default.
type configVariable struct{ name, def string }

// configVariables asks envconfig itself (its Usage template, over the
// same prefix and struct loadConfig passes to envconfig.Process) which
// variables it reads, so the list cannot drift from the struct.
func configVariables(t *testing.T) []configVariable {
	t.Helper()
	var out bytes.Buffer
	if err := envconfig.Usagef("AUTH", &config{}, &out, "{{range .}}{{usage_key .}}\t{{usage_default .}}\n{{end}}"); err != nil {
		t.Fatal(err)
	}
	var vars []configVariable
	for line := range strings.Lines(out.String()) {
		name, def, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		vars = append(vars, configVariable{name, def})
	}
	if len(vars) < 20 || vars[0].name != "AUTH_ADDR" {
		t.Fatalf("envconfig reports %v: has the config struct or its prefix changed?", vars)
	}
	return vars
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section is the text of doc under the heading title ("## X"), up to the
// next heading of the same or a higher level.
func section(t *testing.T, doc, title string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n"+title+"\n")
	if !ok {
		t.Fatalf("no section %q", title)
	}
	level := strings.IndexByte(title, ' ')
	var b strings.Builder
	for line := range strings.Lines(rest) {
		if hashes := len(line) - len(strings.TrimLeft(line, "#")); hashes > 0 && hashes <= level && strings.HasPrefix(line[hashes:], " ") {
			break
		}
		b.WriteString(line)
	}
	return b.String()
}

// tableDefaults maps each variable of a configuration table to the
// default it states: rows start "| `AUTH_X` |" (or name two variables,
// "`AUTH_A` / `AUTH_B`", with two defaults likewise).
func tableDefaults(t *testing.T, text string) map[string]string {
	t.Helper()
	defaults := map[string]string{}
	for line := range strings.Lines(text) {
		if !strings.HasPrefix(line, "| `AUTH_") {
			continue
		}
		cells := strings.Split(line, "|")
		names, defs := strings.Split(cells[1], " / "), strings.Split(cells[2], " / ")
		if len(names) != len(defs) {
			t.Errorf("row %q: %d names, %d defaults", strings.TrimSpace(line), len(names), len(defs))
			continue
		}
		for i, n := range names {
			defaults[strings.Trim(strings.TrimSpace(n), "`")] = strings.TrimSpace(defs[i])
		}
	}
	return defaults
}

// sameDefault: a documented default says the struct's: `value`, or
// "empty" (possibly with a remark) for none.
func sameDefault(documented, def string) bool {
	if def == "" {
		return strings.HasPrefix(documented, "empty")
	}
	return documented == "`"+def+"`"
}

// TestConfigDocumented: every variable the configuration reads has a row,
// with its default, in docs/OPERATIONS.md's configuration reference, and
// is described in README.md's configuration table or in docs/API.md.
func TestConfigDocumented(t *testing.T) {
	reference := tableDefaults(t, section(t, readFile(t, "../../docs/OPERATIONS.md"), "## Configuration reference"))
	readme := tableDefaults(t, section(t, readFile(t, "../../README.md"), "## Configuration"))
	api := readFile(t, "../../docs/API.md")
	vars := configVariables(t)
	for _, v := range vars {
		switch doc, ok := reference[v.name]; {
		case !ok:
			t.Errorf("%s is read by the configuration but has no row in docs/OPERATIONS.md's configuration reference", v.name)
		case !sameDefault(doc, v.def):
			t.Errorf("docs/OPERATIONS.md says %s defaults to %s; the configuration says %q", v.name, doc, v.def)
		}
		doc, inReadme := readme[v.name]
		switch {
		case inReadme && !sameDefault(doc, v.def):
			t.Errorf("README.md says %s defaults to %s; the configuration says %q", v.name, doc, v.def)
		case !inReadme && !regexp.MustCompile(`\b`+v.name+`\b`).MatchString(api):
			t.Errorf("%s is read by the configuration but is neither in README.md's configuration table nor in docs/API.md", v.name)
		}
	}
	for name := range reference {
		if !slices.ContainsFunc(vars, func(v configVariable) bool { return v.name == name }) {
			t.Errorf("docs/OPERATIONS.md's configuration reference has a row for %s, which the configuration does not read", name)
		}
	}
}

// TestDocsNameOnlyRealVariables: every AUTH_ variable README.md and docs/
// mention is one the configuration reads, or one of the test helpers'
// (testOnlyVariables), so no doc sends an operator after a variable that
// does nothing.
func TestDocsNameOnlyRealVariables(t *testing.T) {
	known := map[string]bool{}
	for _, v := range configVariables(t) {
		known[v.name] = true
	}
	for name, helper := range testOnlyVariables {
		if !strings.Contains(readFile(t, helper), `"`+name+`"`) {
			t.Errorf("test-only variable %s is not read by %s: drop it from the allow-list", name, helper)
		}
		known[name] = true
	}
	docs := []string{"../../README.md"}
	more, err := os.ReadDir("../../docs")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range more {
		if strings.HasSuffix(e.Name(), ".md") {
			docs = append(docs, "../../docs/"+e.Name())
		}
	}
	// \b: POSTGRES_HOST_AUTH_METHOD is the Postgres image's, not ours.
	mention := regexp.MustCompile(`\bAUTH_[A-Z0-9_]*[A-Z0-9]`)
	for _, path := range docs {
		for _, name := range mention.FindAllString(readFile(t, path), -1) {
			if !known[name] {
				t.Errorf("%s mentions %s, which the configuration does not read", path, name)
			}
		}
	}
}
