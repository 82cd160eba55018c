// Package cli is the studio-worker command line (cobra): it parses arguments
// and maps outcomes to exit codes; the work itself lives in package worker.
package cli
