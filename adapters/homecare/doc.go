// Package homecare is carehub's input adapter for municipal and SSIH care
// episodes: POST /adapters/homecare/v1/events takes one JSON event
// (application/json) or many, one per line (application/x-ndjson), in the
// fixed format of schemas/homecare/episode-event.schema.json. Each event
// becomes one se.carehub.episode.<status> fact whose data is a collection
// Bundle: the EpisodeOfCare, the Patient and the managing Organization.
//
// As in the other adapters, the answer is sent only after JetStream
// acknowledged the event; a rejected event gets a JSON error naming the
// failing field by JSON Pointer, and its raw bytes go to quarantine (each
// rejected NDJSON line on its own). Neither errors nor logs repeat a
// personnummer, samordningsnummer or the care context.
package homecare
