// Package adaptertest is the conformance kit every carehub adapter runs:
// a real JetStream bus for the adapter under test (an embedded server with
// carehub's streams, see NewBus), one shared suite (Run) checking the
// promises every adapter makes — input is acknowledged only once its event
// is durable, bad input gets a specific error and is quarantined with its
// raw bytes, a resend is recognised and stored once, event ids are
// deterministic, and mappings match golden files refreshed with
// `go test ./adapters/... -update` — and the HTTP client the adapters' and
// end-to-end tests send with.
//
// Each adapter supplies a Driver: how to start it and send it one input,
// and its good and bad samples. The suite is cut like watermill's shared
// pub/sub tests: one function per property, every implementation runs all.
package adaptertest
