package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carehub/carehub/internal/testsupport"
)

// hubProcess is `carehub serve` running as a child process. It listens
// where it reported in its --ready-file, so tests start it on port 0
// rather than guessing a free port that someone else may take first.
type hubProcess struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan struct{} // closed once the process has exited
	err    error         // how it exited; read after exited is closed
	addrs  struct{ HTTP, MLLP, NATS string }
}

// startServe starts bin with args (serveArgs and overrides) and returns
// once the hub is ready; the process is killed when the test ends.
func startServe(t *testing.T, bin string, args ...string) *hubProcess {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready.json")
	p := &hubProcess{stderr: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append(args, "--ready-file", ready)...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.kill() })
	testsupport.WaitFor(t, 30*time.Second, func() error {
		select {
		case <-p.exited:
			t.Fatalf("hub exited before it was ready (%v); stderr:\n%s", p.err, p.stderr)
		default:
		}
		b, err := os.ReadFile(ready)
		if err != nil {
			return fmt.Errorf("hub not ready: %w", err)
		}
		return json.Unmarshal(b, &p.addrs)
	})
	return p
}

// HTTPAddr is where the hub serves HTTP.
func (p *hubProcess) HTTPAddr() string { return p.addrs.HTTP }

// MLLPAddr is where the hub accepts MLLP.
func (p *hubProcess) MLLPAddr() string { return p.addrs.MLLP }

// NATSURL is the URL of the hub's embedded NATS server.
func (p *hubProcess) NATSURL() string { return p.addrs.NATS }

// kill ends the process with SIGKILL and returns once it has exited, so
// its ports and files are free.
func (p *hubProcess) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// lockedBuffer collects a process's output while the test may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
