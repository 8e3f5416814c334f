package tokenbox_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/bahasha/bahasha/internal/tokenbox"
)

func TestSealOpen(t *testing.T) {
	box, err := tokenbox.New("0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	const token = "EAAGm0PX4ZCpsBA-token"
	sealed, err := box.Seal(token, "pn1")
	if err != nil || bytes.Contains(sealed, []byte(token)) {
		t.Fatalf("Seal = %x, %v", sealed, err)
	}
	again, _ := box.Seal(token, "pn1")
	if bytes.Equal(sealed, again) {
		t.Error("two seals of one token are equal: the nonce is not fresh")
	}
	if got, err := box.Open(sealed, "pn1"); err != nil || got != token {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := tokenbox.New("another-key-0123456789abcdef01234")
	for name, f := range map[string]func() (string, error){
		"another number": func() (string, error) { return box.Open(sealed, "pn2") },
		"another key":    func() (string, error) { return other.Open(sealed, "pn1") },
		"damaged":        func() (string, error) { b := bytes.Clone(sealed); b[len(b)-1] ^= 1; return box.Open(b, "pn1") },
		"truncated":      func() (string, error) { return box.Open(sealed[:5], "pn1") },
	} {
		if _, err := f(); !errors.Is(err, tokenbox.ErrOpen) {
			t.Errorf("%s: %v, want ErrOpen", name, err)
		}
	}
	if _, err := tokenbox.New("short"); err == nil {
		t.Error("a short key was accepted")
	}
}
