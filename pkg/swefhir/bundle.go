package swefhir

import (
	"encoding/json"
	"fmt"
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
