package db_test

import (
	"io/fs"
	"regexp"
	"strconv"
	"testing"

	"github.com/authd/authd/db"
)

// golang-migrate needs NNNNNN_name.up.sql / .down.sql pairs with versions
// 1..n and no gaps; a typo would only surface at deploy time otherwise.
func TestMigrationsArePairedAndContiguous(t *testing.T) {
	names, err := fs.Glob(db.Migrations, "migrations/*")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^migrations/(\d{6})_([a-z0-9_]+)\.(up|down)\.sql$`)
	type pair struct{ name, up, down string }
	byVersion := map[int]*pair{}
	for _, n := range names {
		m := re.FindStringSubmatch(n)
		if m == nil {
			t.Errorf("%s: not NNNNNN_name.up.sql or .down.sql", n)
			continue
		}
		v, _ := strconv.Atoi(m[1])
		p := byVersion[v]
		if p == nil {
			p = &pair{name: m[2]}
			byVersion[v] = p
		}
		if p.name != m[2] {
			t.Errorf("version %d has two names: %s and %s", v, p.name, m[2])
		}
		if m[3] == "up" {
			p.up = n
		} else {
			p.down = n
		}
	}
	if len(byVersion) == 0 {
		t.Fatal("no migrations embedded")
	}
	for v := 1; v <= len(byVersion); v++ {
		p, ok := byVersion[v]
		if !ok {
			t.Errorf("missing version %d (versions must be 1..%d)", v, len(byVersion))
			continue
		}
		for _, f := range []string{p.up, p.down} {
			if f == "" {
				t.Errorf("version %d lacks its %s file", v, map[bool]string{true: "up", false: "down"}[p.up == ""])
				continue
			}
			b, err := fs.ReadFile(db.Migrations, f)
			if err != nil || len(b) == 0 {
				t.Errorf("%s: empty or unreadable: %v", f, err)
			}
		}
	}
	if t.Failed() {
		t.Logf("embedded: %v", names)
	}
}
