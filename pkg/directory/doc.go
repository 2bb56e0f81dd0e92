// Package directory is carehub's organisation directory: which hospitals,
// municipalities and care units take part, which sender ids (facilities)
// each of them owns, which municipality codes a municipality answers for,
// and which API tokens identify them.
//
// The directory is a small YAML file written by hand by an operator, so it
// is validated in full when carehub starts rather than failing later on the
// first message that touches a bad entry. Every problem is reported at once,
// each naming the file, line and field, so that one edit fixes them all:
//
//	deploy/directory.yaml:12: organisations[3].kind: "kommun" is not one of hospital, municipality, primary-care, specialised-home-care, short-term-unit
//
// The file holds only sha256 hashes of API tokens, never the tokens
// themselves, so it can be read, reviewed and versioned without leaking
// credentials. A loaded Directory is immutable and safe for concurrent use.
package directory
