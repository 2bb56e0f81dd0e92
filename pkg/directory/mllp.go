package directory

import (
	"net/netip"
	"strings"
)

// BindsMLLPSenders reports whether any organisation binds its HL7 v2
// senders (MLLP in the file): then every MLLP message must come from a
// bound connection.
func (d *Directory) BindsMLLPSenders() bool {
	byCertificate, byAddress := d.MLLPBindings()
	return byCertificate || byAddress
}

// MLLPBindings reports whether any organisation binds MLLP senders by
// certificate name, and whether any binds them by address.
func (d *Directory) MLLPBindings() (byCertificate, byAddress bool) {
	for _, o := range d.orgs {
		if o.MLLP != nil {
			byCertificate = byCertificate || len(o.MLLP.CertificateNames) > 0
			byAddress = byAddress || len(o.MLLP.Addresses) > 0
		}
	}
	return byCertificate, byAddress
}

// MLLPSender returns the organisation an MLLP connection speaks for: the
// one binding one of certNames (the verified client certificate's common
// name and DNS names), else the one whose narrowest address range holds
// addr. A certificate is the stronger proof, so it decides when both
// match.
func (d *Directory) MLLPSender(certNames []string, addr netip.Addr) (Organisation, bool) {
	for _, o := range d.orgs {
		if o.MLLP == nil {
			continue
		}
		for _, bound := range o.MLLP.CertificateNames {
			for _, name := range certNames {
				if strings.EqualFold(bound, name) {
					return o.clone(), true
				}
			}
		}
	}
	best, bits := -1, -1
	addr = addr.Unmap()
	for i, o := range d.orgs {
		if o.MLLP == nil {
			continue
		}
		for _, p := range o.MLLP.prefixes {
			if p.Contains(addr) && p.Bits() > bits {
				best, bits = i, p.Bits()
			}
		}
	}
	if best < 0 {
		return Organisation{}, false
	}
	return d.orgs[best].clone(), true
}
