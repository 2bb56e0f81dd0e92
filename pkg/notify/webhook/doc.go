// Package webhook holds the building blocks for delivering notifications to
// receivers' HTTPS endpoints per the Standard Webhooks specification
// (https://www.standardwebhooks.com/): signing and verification, a URL and
// dial policy against server-side request forgery, a retry schedule, and a
// Sender that makes one delivery attempt and classifies its outcome.
//
// Queueing, persistence and the retry loop belong to the caller: a Sender
// never retries by itself, so that every attempt can be recorded and a
// restart of the hub cannot lose or duplicate the retry state. The caller
// feeds the Outcome of each attempt to Schedule.Next to learn when to try
// again, or that the message is dead.
//
// The package has no package-level mutable state; its sentinel errors are
// constants of type Error.
package webhook

// Header names from the Standard Webhooks specification. HTTP header names
// are case-insensitive; Go canonicalises them to Webhook-Id and so on when
// they are put in an http.Header.
const (
	// HeaderID carries the message id. It is the same on every attempt of a
	// message so that receivers can deduplicate.
	HeaderID = "webhook-id"
	// HeaderTimestamp carries the attempt's time in Unix seconds. It is
	// signed, so receivers can refuse replays of old deliveries.
	HeaderTimestamp = "webhook-timestamp"
	// HeaderSignature carries one or more space-separated "v1,<base64>"
	// signatures, one per active secret.
	HeaderSignature = "webhook-signature"
)

// Error is the type of the package's sentinel errors. It is a string type so
// that the sentinels can be constants, which no one can reassign. Match them
// with errors.Is; the errors returned by this package wrap them with detail.
type Error string

// Error returns the sentinel's message.
func (e Error) Error() string { return string(e) }

const (
	// ErrSecret means a signing secret is malformed, too short, or missing
	// where one is required.
	ErrSecret Error = "webhook: invalid secret"
	// ErrSignature means no signature in the header was made with any of the
	// given secrets over the given id, timestamp and body, or the id is missing.
	ErrSignature Error = "webhook: no matching signature"
	// ErrTimestamp means the webhook-timestamp header is not canonical Unix
	// seconds or lies outside the verifier's tolerance.
	ErrTimestamp Error = "webhook: timestamp not acceptable"
	// ErrURL means a URL or dial address was refused by a URLPolicy. Every
	// *URLError matches it.
	ErrURL Error = "webhook: URL refused"
	// ErrSchedule means a retry schedule could not be parsed. Every
	// *ScheduleError matches it.
	ErrSchedule Error = "webhook: invalid retry schedule"
	// ErrRequest means a Request cannot be sent as it stands (for example, its
	// id is empty); retrying it unchanged cannot succeed.
	ErrRequest Error = "webhook: invalid request"
	// ErrTimeout means the receiver did not answer within the Sender's Timeout.
	ErrTimeout Error = "webhook: receiver did not answer in time"
	// ErrStatus means the receiver answered with a status other than 2xx.
	// Every *StatusError matches it.
	ErrStatus Error = "webhook: receiver refused delivery"
)
