// Package swefhir holds the FHIR R4 helpers carehub shares between adapters and
// the router: Swedish identifiers (personnummer, samordningsnummer, HSA-id),
// patient keys, municipality codes, and small Bundle utilities over
// github.com/samply/golang-fhir-models.
//
// Nothing here performs I/O. Functions that see personal identifiers never
// put them in error strings: callers log and return those errors freely.
package swefhir
