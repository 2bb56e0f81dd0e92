package router

import (
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{name: "defaults", cfg: Config{}},
		{name: "negative batch", cfg: Config{BatchSize: -1}, wantErr: true},
		{name: "ack wait too short", cfg: Config{AckWait: 10 * time.Millisecond}, wantErr: true},
		{name: "backoff upside down", cfg: Config{ResubscribeMin: time.Minute, ResubscribeMax: time.Second}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.setDefaults()
			if err := cfg.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
