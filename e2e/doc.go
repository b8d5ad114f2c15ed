// Package e2e drives real headless Chromium against a real dropcast (app.New
// on 127.0.0.1:0 with its own PostgreSQL database) through the pages people
// use. Its tests carry the build tag e2e and run with `make e2e`, so `make
// test` never needs a browser. Screenshots go to ../screenshots (or
// $DROPCAST_SCREENSHOTS).
package e2e
