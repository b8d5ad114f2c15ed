package loadgen

import (
	"encoding/json"
	"fmt"
	"os"
)

// The benchmarks' server halves (tests in package app, run by scripts/)
// write one of these as JSON to a file; the load process reads it.

// ChannelServer describes the shopper-channel benchmark's server half.
type ChannelServer struct {
	URL        string `json:"url"`
	Control    string `json:"control"` // GET /gc there collects garbage before a memory reading
	BurstID    int64  `json:"burst"`
	CardID     int64  `json:"card"`
	AdminToken string `json:"admin_token"`
	PID        int    `json:"pid"`
}

// FlashServer describes the flash-sale benchmark's server half.
type FlashServer struct {
	URL         string       `json:"url"`
	BurstID     int64        `json:"burst"`
	AdminToken  string       `json:"admin_token"`
	DatabaseURL string       `json:"database_url"`
	PID         int          `json:"pid"`
	Rounds      []FlashRound `json:"rounds"`
}

// FlashRound is one rush of the flash sale: a card offering a product whose
// variants start with Units units between them.
type FlashRound struct {
	CardID   int64   `json:"card"`
	Variants []int64 `json:"variants"`
	Units    int     `json:"units"`
}

// ReadInfo reads the JSON file a server half wrote into v.
func ReadInfo(path string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read server info: %w", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("parse server info %s: %w", path, err)
	}
	return nil
}
