// Package mllp is the Minimal Lower Layer Protocol, the transport of HL7 v2:
// each message travels as StartBlock, the message bytes, EndBlock and
// CarriageReturn (0x0B <message> 0x1C 0x0D) over a TCP or TLS connection,
// and the receiver answers each message with an acknowledgement frame
// before the sender sends the next one.
//
// The package has three parts:
//
//   - Reader and WriteFrame do the framing. The Reader is tolerant of what
//     real senders and networks produce (noise between frames, a half frame
//     after a reconnect, a missing final CR) without losing
//     synchronisation, and it bounds memory with a per-frame size limit.
//   - Server accepts connections, hands each message to a Handler strictly
//     in order per connection and writes the Handler's ACK back. It bounds
//     the number of connections and the time a peer may hold one, and it
//     drains gracefully: a message being handled when Shutdown begins is
//     still acknowledged.
//   - Client sends one message at a time and waits for its ACK; it serves
//     `carehub send` and tests.
//
// The package only moves bytes: parsing HL7 and building ACK/NAK messages
// belong to the caller. Messages carry personal data, so nothing here ever
// logs their content; logs name the peer, the connection id, byte counts
// and errors.
package mllp
