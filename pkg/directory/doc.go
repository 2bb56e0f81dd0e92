// Package directory is carehub's organisation directory: which hospitals,
// municipalities and care units take part, which sender ids (facilities)
// each of them owns, which municipality codes a municipality answers for,
// which API tokens identify them and which webhook endpoints their
// notifications are pushed to; and, apart from all organisations, which
// auditor tokens may read the audit log.
//
// The directory is a small YAML file written by hand by an operator, so it
// is validated in full when carehub starts rather than failing later on the
// first message that touches a bad entry. Every problem is reported at once,
// each naming the file, line and field, so that one edit fixes them all:
//
//	deploy/directory.yaml:12: organisations[3].kind: "kommun" is not one of hospital, municipality, primary-care, specialised-home-care, short-term-unit
//	deploy/directory.yaml:31: organisations[3].webhooks[0].secretEnv: environment variable HOOK_SECRET is not set
//
// The file holds only sha256 hashes of API and auditor tokens, never the
// tokens themselves, so it can be read, reviewed and versioned without
// leaking credentials. Webhook signing secrets are best kept out of it too,
// named by secretEnv and read from the environment when the directory is
// loaded; no error message shows a webhook secret or a rejected token. A loaded
// Directory is immutable and safe for concurrent use.
package directory
