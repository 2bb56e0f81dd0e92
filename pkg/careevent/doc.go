// Package careevent is carehub's CloudEvents catalogue: the event types, the
// NATS subjects they travel on, deterministic ids, and the two encodings
// carehub uses — NATS binary mode (ce-* headers, FHIR JSON body) on the bus
// and structured JSON in the API and webhooks.
//
// It is the vocabulary every other package speaks; it knows nothing of how
// events are produced or consumed.
package careevent
