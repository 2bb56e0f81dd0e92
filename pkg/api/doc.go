// Package api is carehub's HTTP surface: health and readiness, bearer-token
// authentication against the organisation directory, and the
// incoming-patients API. Adapters mount their own routes on the same server
// through Handle, so one listener serves everything.
package api
