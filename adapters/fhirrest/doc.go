// Package fhirrest is carehub's FHIR R4 REST ingest: transaction and batch
// Bundles, PUT of an Encounter, and Da Vinci-style $process-message. Each
// Encounter becomes one fact on CAREHUB_EVENTS; the HTTP answer is sent only
// after JetStream acknowledged it. Rejected requests get an OperationOutcome
// naming the element at fault, and their raw bytes go to quarantine.
package fhirrest
