// Package test holds carehub's end-to-end tests: the hub wired as
// `carehub serve` wires it, against an embedded JetStream server and the
// local PostgreSQL, driven over HTTP like a hospital and a municipality.
package test
