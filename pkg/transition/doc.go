// Package transition holds carehub's care-transition rules: pure functions
// from what is known about a patient and one new fact to the notifications
// that fact requires. No I/O, no clock of its own, no globals — everything is
// passed in, so rules are table-tested scenario by scenario.
package transition
