package fhirrest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carehub/carehub/adapters/adaptertest"
	"github.com/carehub/carehub/adapters/fhirrest"
	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/swefhir"
)

// TestAdapterConformance runs the suite every adapter passes, with
// transaction Bundles posted to /fhir.
func TestAdapterConformance(t *testing.T) {
	sample := func(name, path, wantError string) adaptertest.Sample {
		return adaptertest.Sample{Name: name, Input: testsupport.ReadFile(t, path), WantError: wantError}
	}
	deploy := func(name string) string { return filepath.Join("..", "..", "deploy", "examples", "fhir", name) }
	adaptertest.Run(t, adaptertest.Driver{
		Adapter: fhirrest.AdapterName,
		Start: adaptertest.StartHTTP(
			func(t *testing.T) *adaptertest.HTTPAdapter { return newEnv(t, fhirrest.Config{}).HTTPAdapter },
			func(t *testing.T, a *adaptertest.HTTPAdapter, bundle []byte) adaptertest.Answer {
				return answerOf(t, adaptertest.Do(t, http.MethodPost, a.URL+"/fhir", tokenRyhov, fhirrest.ContentType, bundle))
			}),
		Good: []adaptertest.Sample{
			sample("transaction-admission", filepath.Join("testdata", "transaction-admission.json"), ""),
			sample("transaction-transfer", filepath.Join("testdata", "transaction-transfer.json"), ""),
			sample("deploy-admission-bundle", deploy("admission-bundle.json"), ""),
			sample("deploy-discharge-bundle", deploy("discharge-bundle.json"), ""),
		},
		Bad: []adaptertest.Sample{
			sample("wrong check digit", filepath.Join("testdata", "transaction-wrong-check-digit.json"), "422 value"),
			sample("another organisation's facility", filepath.Join("testdata", "transaction-other-facility.json"), "403 forbidden"),
			sample("searchset", filepath.Join("testdata", "searchset.json"), "422 not-supported"),
			sample("no Encounter", filepath.Join("testdata", "transaction-no-encounter.json"), "422 required"),
			{Name: "not JSON", Input: []byte(`{"resourceType":"Bundle",`), WantError: "400 invalid"},
		},
		Reused: []adaptertest.Reuse{{
			Name:      "Encounter version 4 reused for another ward",
			First:     testsupport.ReadFile(t, filepath.Join("testdata", "transaction-transfer.json")),
			Changed:   []byte(strings.Replace(string(testsupport.ReadFile(t, filepath.Join("testdata", "transaction-transfer.json"))), "Medicinavdelning 3, Ryhov", "Kirurgavdelning 1, Ryhov", 1)),
			WantError: "409 duplicate",
		}},
		Refused:         "503 transient",
		MarksDuplicates: true,
	})
}

// answerOf reads a transaction-response, or the OperationOutcome of a
// rejection: its status and first issue's code are the error.
func answerOf(t *testing.T, r response) adaptertest.Answer {
	t.Helper()
	ans := adaptertest.Answer{Raw: r.Body}
	if r.Status != http.StatusOK {
		var o swefhir.OperationOutcome
		if err := json.Unmarshal(r.Body, &o); err != nil || o.ResourceType != "OperationOutcome" || len(o.Issue) == 0 {
			t.Fatalf("status %d without an OperationOutcome (%v): %s", r.Status, err, r.Body)
		}
		ans.Error = fmt.Sprintf("%d %s", r.Status, o.Issue[0].Code)
		return ans
	}
	tr := decodeTransactionResponse(t, r)
	ans.Accepted = true
	for _, e := range tr.Entry {
		if o := e.Response.Outcome; o != nil && hasIssue(*o, "information", "already received") {
			ans.Duplicate = true
		}
	}
	if !ans.Duplicate && !strings.Contains(string(r.Body), "201 Created") {
		t.Errorf("first send answered without 201 Created: %s", r.Body)
	}
	return ans
}
