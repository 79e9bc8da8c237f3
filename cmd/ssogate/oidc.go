package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/ssogate/ssogate/config"
)

func init() {
	commandUsage["oidc-secret"] = "oidc-secret [--generate]\n\n" +
		"Print the client_secret_hash of an OpenID Connect client's secret, read from\n" +
		"standard input (at least 32 characters), for services[].oidc.client_secret_hash:\n" +
		"the secret itself then need not be on the gateway's host. With --generate a\n" +
		"random secret is made and printed first, to enter in the app."
}

// oidcSecret is `ssogate oidc-secret`.
func (c *cli) oidcSecret(args []string) error {
	fs := c.flags("oidc-secret")
	generate := fs.Bool("generate", false, "make a random secret and print it before its hash")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	var secret string
	if *generate {
		b := make([]byte, 36)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("oidc-secret: %w", err)
		}
		secret = base64.RawURLEncoding.EncodeToString(b)
		fmt.Fprintf(c.stdout, "client_secret: %s\n", secret)
	} else {
		line, err := bufio.NewReader(c.stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("oidc-secret: read the secret from standard input: %w", err)
		}
		secret = strings.TrimRight(line, "\r\n")
	}
	if len(secret) < config.MinClientSecretLen {
		return fmt.Errorf("oidc-secret: the secret has %d characters; use at least %d random ones (or --generate)", len(secret), config.MinClientSecretLen)
	}
	fmt.Fprintf(c.stdout, "client_secret_hash: %s\n", config.HashClientSecret(secret))
	return nil
}
