package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hotline-acd/hotline/auth"
)

// runHashSecret reads a sign-in secret from stdin (one line, so it is not
// left in the shell's history or the process list) and prints its hash for
// an operator's secret_hash in the config.
func runHashSecret(_ context.Context, _ clock, args []string, stdout, stderr io.Writer) error {
	if len(args) != 0 {
		return usagef("usage: echo 'the secret' | hotline hash-secret")
	}
	return hashSecret(os.Stdin, stdout, stderr)
}

func hashSecret(in io.Reader, stdout, stderr io.Writer) error {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("reading the secret: %w", err)
	}
	h, err := auth.HashSecret(strings.TrimRight(line, "\r\n"))
	if err != nil {
		fmt.Fprintln(stderr, "hotline hash-secret:", err)
		return errReported
	}
	fmt.Fprintln(stdout, h)
	return nil
}
