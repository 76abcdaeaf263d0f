package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// promptNoEcho writes prompt to w and reads a line from the terminal tty
// with echo turned off (by stty, so that no terminal library is needed),
// turning it back on afterwards.
func promptNoEcho(tty *os.File, w io.Writer, prompt string) (string, error) {
	stty := func(arg string) error {
		cmd := exec.Command("stty", arg)
		cmd.Stdin = tty
		return cmd.Run()
	}
	if err := stty("-echo"); err != nil {
		return "", fmt.Errorf("cannot turn off the terminal's echo (%v): give --password-stdin", err)
	}
	defer stty("echo")
	fmt.Fprint(w, prompt)
	line, err := bufio.NewReader(io.LimitReader(tty, 4096)).ReadString('\n')
	fmt.Fprintln(w)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
