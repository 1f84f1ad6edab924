// Package sqlite holds the SQL of authd's SQLite store (adapters/sqlite):
// the golang-migrate migrations, embedded so the binary can migrate without
// files on disk, and the sqlc query files (queries/) the adapter's
// internal/sqlcdb is generated from.
package sqlite

import "embed"

// Migrations holds the numbered golang-migrate files under migrations/.
//
//go:embed migrations/*.sql
var Migrations embed.FS
