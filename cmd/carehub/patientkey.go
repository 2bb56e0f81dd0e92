package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/carehub/carehub/pkg/swefhir"
)

// patientKeyCmd turns personnummer into the patient keys an auditor
// searches for. The numbers are read from standard input, so they appear
// in no shell history, process list or log.
type patientKeyCmd struct {
	SecretFile string `name:"patient-key-secret-file" env:"CAREHUB_PATIENT_KEY_SECRET_FILE" placeholder:"FILE" help:"File holding the deployment's patient key secret; else CAREHUB_PATIENT_KEY_SECRET, else the data dir's generated one."`
	DataDir    string `name:"data-dir" env:"CAREHUB_DATA_DIR" default:"./data" help:"Data dir of a hub that generated its own secret (development)."`
}

func (p *patientKeyCmd) Help() string {
	return `Reads one personnummer or samordningsnummer per line from standard input
(12 digits, or with - or + before the last four) and prints its patient key,
as the hub computes it, one per line. Example:

  echo 194502134317 | CAREHUB_PATIENT_KEY_SECRET_FILE=/run/secrets/pk carehub patient-key`
}

func (p *patientKeyCmd) Run() error {
	secret, err := p.secret()
	if err != nil {
		return err
	}
	keys, err := swefhir.NewPatientKeyer(secret)
	if err != nil {
		return fmt.Errorf("patient key secret: %w", err)
	}
	return patientKeys(os.Stdin, os.Stdout, os.Stderr, keys)
}

// secret finds the deployment secret the way serve does, but never
// generates one: a new secret would give keys that match nothing.
func (p *patientKeyCmd) secret() ([]byte, error) {
	if p.SecretFile != "" {
		b, err := os.ReadFile(p.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("reading the patient key secret: %w", err)
		}
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if s := os.Getenv("CAREHUB_PATIENT_KEY_SECRET"); s != "" {
		return []byte(s), nil
	}
	b, err := os.ReadFile(filepath.Join(p.DataDir, "patient-key.secret"))
	if err != nil {
		return nil, errors.New("no patient key secret: set CAREHUB_PATIENT_KEY_SECRET or --patient-key-secret-file, or point --data-dir at the hub's data dir")
	}
	return []byte(strings.TrimSpace(string(b))), nil
}

// patientKeys prints the key of each identifier read from in. A line that
// is no valid identifier is reported by its line number only: the error
// must not repeat what may be a mistyped personnummer.
func patientKeys(in io.Reader, out, errOut io.Writer, keys *swefhir.PatientKeyer) error {
	sc := bufio.NewScanner(in)
	line, bad := 0, 0
	for sc.Scan() {
		line++
		v := strings.TrimSpace(sc.Text())
		if v == "" {
			continue
		}
		key, ok := keyOf(keys, v)
		if !ok {
			bad++
			_, _ = fmt.Fprintf(errOut, "line %d: not a valid personnummer or samordningsnummer (12 digits, check digit)\n", line)
			continue
		}
		if _, err := fmt.Fprintln(out, key); err != nil {
			return fmt.Errorf("writing the key: %w", err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading standard input: %w", err)
	}
	if bad > 0 {
		return fmt.Errorf("%d line(s) were not valid identifiers", bad)
	}
	return nil
}

func keyOf(keys *swefhir.PatientKeyer, v string) (string, bool) {
	for _, kind := range []swefhir.IDKind{swefhir.IDPersonnummer, swefhir.IDSamordningsnummer} {
		if norm, err := swefhir.NormaliseNationalID(kind, v); err == nil {
			return keys.Key(swefhir.CanonicalSystem(kind), norm), true
		}
	}
	return "", false
}
