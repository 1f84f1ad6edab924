// Package db holds authd's SQL: the golang-migrate migrations, embedded so
// the binary can migrate without files on disk, and the sqlc query files
// (db/queries) that adapters/postgres is generated from.
package db

import "embed"

// Migrations holds the numbered golang-migrate files under migrations/.
//
//go:embed migrations/*.sql
var Migrations embed.FS
