package sdk

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"
)

// TestLogHandler checks the lines go-plugin parses on the host: @level,
// @message, @timestamp in its layout, other attributes as they are.
func TestLogHandler(t *testing.T) {
	tests := []struct {
		level slog.Level
		want  string
	}{
		{slog.LevelDebug - 4, "trace"},
		{slog.LevelDebug, "debug"},
		{slog.LevelInfo, "info"},
		{slog.LevelWarn, "warn"},
		{slog.LevelError, "error"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		lv := new(slog.LevelVar)
		lv.Set(slog.LevelDebug - 4)
		slog.New(NewLogHandler(&buf, lv)).Log(t.Context(), tt.level, "endpoint answered", "status", 200)
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatalf("%s: %v: %s", tt.want, err, buf.Bytes())
		}
		if line["@level"] != tt.want || line["@message"] != "endpoint answered" || line["status"] != float64(200) {
			t.Errorf("line %v", line)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", line["@timestamp"].(string)); err != nil {
			t.Errorf("timestamp: %v", err)
		}
	}
}
