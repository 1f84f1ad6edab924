// Package ports declares the interfaces the use cases consume, one file per
// concern. They speak domain types only: no driver, JWT or HTTP library
// type crosses them. Adapters implement them; adapters/repotest is the
// contract every store passes.
package ports
