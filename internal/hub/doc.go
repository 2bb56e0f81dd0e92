// Package hub wires carehub's components into one running process: the
// embedded or external NATS, PostgreSQL, the HTTP API with the adapters, the
// router and the outbox relay. `carehub serve`, the end-to-end tests and the
// benchmarks all start the hub through Start, so they exercise the same
// wiring. It sits at the cmd level of the import graph: it may import
// adapters, and pkg packages never import it.
package hub
