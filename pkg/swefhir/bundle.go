package swefhir

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Resource is one resource of a Bundle kept as the bytes it arrived in, so
// that extensions and elements carehub does not model survive untouched.
type Resource struct {
	FullURL string
	Type    string
	ID      string
	Raw     json.RawMessage
}

// resourceHeader reads just enough of a resource to route it.
type resourceHeader struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         *struct {
		VersionID string `json:"versionId"`
	} `json:"meta"`
}

// Header returns the resourceType, id and meta.versionId of a raw resource.
func Header(raw []byte) (resourceType, id, versionID string, err error) {
	var h resourceHeader
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", "", "", fmt.Errorf("reading resource: %w", err)
	}
	if h.Meta != nil {
		versionID = h.Meta.VersionID
	}
	return h.ResourceType, h.ID, versionID, nil
}

// ResourceIndex resolves references between the resources of one Bundle.
type ResourceIndex struct {
	byRef map[string]*Resource
}

// NewResourceIndex indexes resources by fullUrl and by "Type/id".
func NewResourceIndex(resources []Resource) *ResourceIndex {
	idx := &ResourceIndex{byRef: make(map[string]*Resource, 2*len(resources))}
	for i := range resources {
		r := &resources[i]
		if r.FullURL != "" {
			idx.byRef[r.FullURL] = r
		}
		if r.Type != "" && r.ID != "" {
			idx.byRef[r.Type+"/"+r.ID] = r
		}
	}
	return idx
}

// Resolve finds the resource a literal reference points at. Absolute URLs
// ending in Type/id resolve like the relative form, as FHIR servers do.
func (idx *ResourceIndex) Resolve(reference string) (*Resource, bool) {
	if r, ok := idx.byRef[reference]; ok {
		return r, true
	}
	parts := strings.Split(reference, "/")
	if n := len(parts); n >= 2 {
		if r, ok := idx.byRef[parts[n-2]+"/"+parts[n-1]]; ok {
			return r, true
		}
	}
	return nil, false
}

// CollectionBundle is the Bundle carehub puts in an event's data: type
// collection, the focus resource first.
type CollectionBundle struct {
	ResourceType string        `json:"resourceType"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp,omitempty"`
	Entry        []BundleEntry `json:"entry"`
}

// BundleEntry is an entry of a Bundle carehub writes.
type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource"`
}

// NewCollectionBundle builds a collection Bundle of resources in order.
func NewCollectionBundle(timestamp string, resources []Resource) CollectionBundle {
	b := CollectionBundle{ResourceType: "Bundle", Type: "collection", Timestamp: timestamp}
	for _, r := range resources {
		b.Entry = append(b.Entry, BundleEntry{FullURL: r.FullURL, Resource: r.Raw})
	}
	return b
}

// ParseCollectionBundle reads an event's data back into resources.
func ParseCollectionBundle(data []byte) ([]Resource, error) {
	var b CollectionBundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("decoding bundle: %w", err)
	}
	if b.ResourceType != "Bundle" {
		return nil, fmt.Errorf("decoding bundle: resourceType is %q, want Bundle", b.ResourceType)
	}
	out := make([]Resource, 0, len(b.Entry))
	for i, e := range b.Entry {
		typ, id, _, err := Header(e.Resource)
		if err != nil {
			return nil, fmt.Errorf("bundle entry %d: %w", i, err)
		}
		out = append(out, Resource{FullURL: e.FullURL, Type: typ, ID: id, Raw: e.Resource})
	}
	return out, nil
}

// Referenced returns the resources of others that focus refers to, in the
// order of others: by literal reference (fullUrl, Type/id) or by an
// identifier value the referenced resource carries, and transitively (a
// Location's managingOrganization or partOf). An event then carries what
// its focus needs, not every resource of the request it came in.
func Referenced(focus []byte, others []Resource) []Resource {
	idx := NewResourceIndex(others)
	keep := make(map[*Resource]bool)
	queue := [][]byte{focus}
	for len(queue) > 0 {
		raw := queue[0]
		queue = queue[1:]
		refs, idents := references(raw)
		for _, ref := range refs {
			if r, ok := idx.Resolve(ref); ok && !keep[r] {
				keep[r] = true
				queue = append(queue, r.Raw)
			}
		}
		if len(idents) == 0 {
			continue
		}
		for i := range others {
			r := &others[i]
			if !keep[r] && carriesIdentifier(r.Raw, idents) {
				keep[r] = true
				queue = append(queue, r.Raw)
			}
		}
	}
	var out []Resource
	for i := range others {
		// The index points into others, so its pointers are others' own.
		if keep[&others[i]] {
			out = append(out, others[i])
		}
	}
	return out
}

// references collects the literal references and the identifier values of
// logical references anywhere in a resource.
func references(raw []byte) (refs, idents []string) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, nil
	}
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if ref, ok := t["reference"].(string); ok && ref != "" {
				refs = append(refs, ref)
			}
			if id, ok := t["identifier"].(map[string]any); ok {
				if val, ok := id["value"].(string); ok && val != "" {
					idents = append(idents, val)
				}
			}
			for k, c := range t {
				if k != "contained" {
					walk(c)
				}
			}
		case []any:
			for _, c := range t {
				walk(c)
			}
		}
	}
	walk(v)
	return refs, idents
}

// carriesIdentifier reports whether a resource has one of the identifier
// values.
func carriesIdentifier(raw []byte, values []string) bool {
	var r struct {
		Identifier []struct {
			Value string `json:"value"`
		} `json:"identifier"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return false
	}
	for _, id := range r.Identifier {
		if slices.Contains(values, id.Value) {
			return true
		}
	}
	return false
}
