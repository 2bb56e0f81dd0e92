package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"go.uber.org/zap"
)

// debugServer serves Go's runtime profiles on their own listener, so that
// a hub under load can be profiled without exposing pprof on the API
// address.
type debugServer struct {
	srv *http.Server
	ln  net.Listener
}

// startDebugServer listens on addr and serves /debug/pprof/ until Close.
func startDebugServer(ctx context.Context, addr string, log *zap.Logger) (*debugServer, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	d := &debugServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln: ln}
	go func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("debug server stopped", zap.Error(err))
		}
	}()
	log.Info("serving Go profiles", zap.String("addr", "http://"+ln.Addr().String()+"/debug/pprof/"))
	return d, nil
}

// Addr is the address the server listens on.
func (d *debugServer) Addr() string { return d.ln.Addr().String() }

// Close stops the server; profiles being taken are cut short.
func (d *debugServer) Close(ctx context.Context) error {
	return d.srv.Shutdown(ctx)
}
