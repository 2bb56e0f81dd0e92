package hl7v2

import (
	"net"
	"net/netip"

	"github.com/carehub/carehub/adapters/hl7v2/hl7"
	"github.com/carehub/carehub/adapters/hl7v2/mllp"
)

// sender is who a connection speaks for, as the directory binds MLLP
// senders (mllp in the directory file): MSH-4 alone must not decide which
// hospital is speaking, or anyone who reaches the port could speak for
// any of them.
type sender struct {
	remote string
	// orgID is the organisation the connection is bound to; "" when none.
	orgID string
	// required is set when the directory binds senders: then a message
	// from an unbound connection is refused.
	required bool
}

// senderOf finds the organisation conn is bound to, by the names of its
// verified client certificate or by its source address.
func (a *Adapter) senderOf(conn mllp.ConnInfo) sender {
	s := sender{remote: conn.RemoteAddr, required: a.mapper.dir.BindsMLLPSenders()}
	if !s.required {
		return s
	}
	var names []string
	if conn.TLS != nil && len(conn.TLS.VerifiedChains) > 0 {
		leaf := conn.TLS.VerifiedChains[0][0]
		names = append([]string{leaf.Subject.CommonName}, leaf.DNSNames...)
	}
	var addr netip.Addr
	if host, _, err := net.SplitHostPort(conn.RemoteAddr); err == nil {
		addr, _ = netip.ParseAddr(host)
	}
	if org, ok := a.mapper.dir.MLLPSender(names, addr); ok {
		s.orgID = org.ID
	}
	return s
}

// check refuses a message its connection may not send: any message on an
// unbound connection where senders are bound, and one whose MSH-4 is not a
// facility of the organisation the connection is bound to. The answer is
// AR: resending on the same connection cannot help, and the sender's
// interface team must look.
func (s sender) check(a *Adapter, msg *hl7.Message) *rejection {
	if s.orgID == "" {
		if s.required {
			return rejectMessage(ErrApplicationError, location{Segment: "MSH", Seq: 1, Field: 4},
				"this connection is not bound to any organisation in the carehub directory (client certificate or source address)")
		}
		return nil
	}
	facility := msg.Get("MSH-4.1")
	if org, ok := a.mapper.dir.ByFacility(facility); !ok || org.ID != s.orgID {
		return rejectMessage(ErrApplicationError, location{Segment: "MSH", Seq: 1, Field: 4, Component: 1},
			"sending facility %q does not belong to %s, the organisation this connection is bound to", safeCode(facility), s.orgID)
	}
	return nil
}
