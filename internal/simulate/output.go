package simulate

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Output file names under the --out directory.
const (
	FileDirectory = "directory.yaml"
	FileExpected  = "expected.ndjson"
	FileHomecare  = "homecare.ndjson"
	FileFHIR      = "fhir.ndjson"
	DirHL7        = "hl7"
)

// WriteFiles writes the simulation under dir: hl7/<day>.hl7 (the HL7 v2
// messages in delivery order, one file per simulated day), fhir.ndjson
// (the same hospital events as FHIR transaction Bundles), homecare.ndjson,
// directory.yaml and expected.ndjson. Duplicates and out-of-order
// deliveries are in the files as they would be sent.
func (s *Simulation) WriteFiles(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, DirHL7), 0o755); err != nil {
		return fmt.Errorf("creating output directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileDirectory), DirectoryYAML(s.Config.Regions), 0o644); err != nil {
		return fmt.Errorf("writing directory: %w", err)
	}
	if err := writeWith(filepath.Join(dir, FileExpected), func(w *bufio.Writer) error { return WriteExpected(w, s.Expect()) }); err != nil {
		return err
	}
	if err := s.writeNDJSON(filepath.Join(dir, FileHomecare), s.HomecareJSON); err != nil {
		return err
	}
	if err := s.writeNDJSON(filepath.Join(dir, FileFHIR), s.FHIR); err != nil {
		return err
	}
	return s.writeHL7(filepath.Join(dir, DirHL7))
}

// writeNDJSON writes one line per delivery that render has a form for.
func (s *Simulation) writeNDJSON(path string, render func(*Event) []byte) error {
	return writeWith(path, func(w *bufio.Writer) error {
		for _, d := range s.Wire {
			if b := render(d.Event); b != nil {
				_, _ = w.Write(b) // bufio errors stick; Flush reports them
				_ = w.WriteByte('\n')
			}
		}
		return nil
	})
}

// writeHL7 writes one file per simulated day of the delivery order; a
// message delivered late stays in the file of the messages around it, so
// sending the files in name order is sending in delivery order.
func (s *Simulation) writeHL7(dir string) error {
	var f *os.File
	var w *bufio.Writer
	closeFile := func() error {
		if f == nil {
			return nil
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("writing %s: %w", f.Name(), err)
		}
		return f.Close()
	}
	var day, current time.Time
	loc := s.loc
	for _, d := range s.Wire {
		b := s.HL7(d.Event)
		if b == nil {
			continue
		}
		at := d.Event.At.In(loc)
		if dd := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, loc); dd.After(day) {
			day = dd
		}
		if f == nil || !day.Equal(current) {
			if err := closeFile(); err != nil {
				return err
			}
			var err error
			if f, err = os.Create(filepath.Join(dir, day.Format("2006-01-02")+".hl7")); err != nil {
				return fmt.Errorf("creating HL7 file: %w", err)
			}
			w, current = bufio.NewWriter(f), day
		}
		_, _ = w.Write(b) // bufio errors stick; Flush reports them
	}
	return closeFile()
}

func writeWith(path string, fill func(*bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Base(path), err)
	}
	w := bufio.NewWriter(f)
	if err := fill(w); err != nil {
		_ = f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", filepath.Base(path), err)
	}
	return nil
}

// Stats summarises a simulation.
type Stats struct {
	People, Patients                       int
	HL7, Homecare, Duplicates, OutOfOrder  int
	InpatientStays, EmergencyVisits        int
	CancelledAdmissions, CancelledDischrgs int
	Readmissions30                         int
}

// Stats counts what was generated.
func (s *Simulation) Stats() Stats {
	st := Stats{People: len(s.People)}
	patients := map[int]bool{}
	stays := map[*Stay]bool{}
	for _, e := range s.Truth {
		patients[e.Patient] = true
		if m := e.Hospital; m != nil {
			st.HL7++
			switch m.Trigger {
			case TriggerAdmit:
				stays[m.Stay] = true
				st.InpatientStays++
			case TriggerRegister:
				st.EmergencyVisits++
			case TriggerCancelAdmit:
				st.CancelledAdmissions++
			case TriggerCancelDischarge:
				st.CancelledDischrgs++
			}
		} else {
			st.Homecare++
		}
	}
	for _, d := range s.Wire {
		if d.Duplicate {
			st.Duplicates++
		}
		if d.Swapped {
			st.OutOfOrder++
		}
	}
	st.Patients = len(patients)
	for _, e := range s.Expect() {
		if e.Kind == KindReadmission && e.Org == s.People[e.Patient].Municipality.OrgID {
			st.Readmissions30++
		}
	}
	return st
}
