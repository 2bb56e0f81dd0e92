// Package hl7v2 is carehub's HL7 v2 ADT adapter: messages arrive over MLLP
// (package mllp), are parsed (package hl7), mapped to FHIR R4 following the
// HL7 v2-to-FHIR IG's ADT concept maps, and published as one fact each on
// CAREHUB_EVENTS. The acknowledgement (AA/CA) is sent only after JetStream
// acknowledged the fact; rejected messages get AE or AR with an ERR segment
// naming the field and the problem, and their raw bytes go to quarantine.
//
// The fields used are documented in README.md beside this file.
package hl7v2
