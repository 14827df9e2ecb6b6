package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/gscluster/gscluster/internal/datadir"
)

// showProgress draws a progress bar of p on stderr while it is a terminal
// (nothing on a pipe or file) and returns the function that stops it.
func showProgress(verb string, p *datadir.Progress) (stop func()) {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return func() {}
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionFullWidth(),
	)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(150 * time.Millisecond)
		defer t.Stop()
		for {
			total := p.TotalBytes.Load()
			if total > 0 && bar.GetMax64() != total {
				bar.ChangeMax64(total)
			}
			if n := p.TotalFiles.Load(); n > 0 {
				bar.Describe(fmt.Sprintf("%s %d/%d files", verb, p.Files.Load(), n))
			} else {
				bar.Describe("listing files")
			}
			bar.Set64(p.Bytes.Load()) //nolint:errcheck
			select {
			case <-done:
				bar.Clear() //nolint:errcheck
				io.WriteString(os.Stderr, "\r")
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// human formats a byte count.
func human(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// perSecond formats a rate: whole numbers, but one decimal below 10 (a
// single large file imports at "0.3 files/s", not "0").
func perSecond(r float64) string {
	if r < 10 {
		return strconv.FormatFloat(r, 'f', 1, 64)
	}
	return strconv.FormatFloat(r, 'f', 0, 64)
}

func rate(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return n / d.Seconds()
}
