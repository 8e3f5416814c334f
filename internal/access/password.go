package access

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// PasswordCost is argon2id's cost: RFC 9106's second recommended setting
// (3 passes over 64 MiB with 4 lanes), about 0.1 s of one core here. It is
// written into each hash, so a changed cost applies to new passwords and
// old hashes keep verifying.
type PasswordCost struct {
	Time    uint32 // passes
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultPasswordCost is the cost of new passwords.
var DefaultPasswordCost = PasswordCost{Time: 3, Memory: 64 << 10, Threads: 4}

// The bounds of a password, in characters.
const (
	MinPasswordLength = 10
	MaxPasswordLength = 256
)

// ErrPassword: a new password that cannot be used; its message says why.
var ErrPassword = errors.New("password")

// CheckPassword refuses a password that is too short, too long, not text,
// or only spaces.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return fmt.Errorf("%w: the password is not valid text", ErrPassword)
	case n < MinPasswordLength:
		return fmt.Errorf("%w: use at least %d characters (a few words make a good one)", ErrPassword, MinPasswordLength)
	case n > MaxPasswordLength:
		return fmt.Errorf("%w: use at most %d characters", ErrPassword, MaxPasswordLength)
	case strings.TrimSpace(pw) == "":
		return fmt.Errorf("%w: the password cannot be only spaces", ErrPassword)
	}
	return nil
}

const saltLen, keyLen = 16, 32

// hashing bounds the argon2id computations running at once to the number
// of CPUs: each takes its cost's memory (64 MiB), so a burst of sign-ins
// waits its turn instead of exhausting memory.
var hashing = make(chan struct{}, runtime.NumCPU())

func idKey(pw, salt []byte, c PasswordCost, n uint32) []byte {
	hashing <- struct{}{}
	defer func() { <-hashing }()
	return argon2.IDKey(pw, salt, c.Time, c.Memory, c.Threads, n)
}

// HashPassword returns the PHC string of pw's argon2id hash with a random
// salt from r: $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func HashPassword(r io.Reader, pw string, c PasswordCost) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(r, salt); err != nil {
		return "", fmt.Errorf("access: randomness: %w", err)
	}
	sum := idKey([]byte(pw), salt, c, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, c.Memory, c.Time, c.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// VerifyPassword reports whether pw matches hash (a HashPassword string),
// comparing in constant time. A malformed hash matches nothing.
func VerifyPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var c PasswordCost
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &c.Memory, &c.Time, &c.Threads); err != nil ||
		c.Time == 0 || c.Time > 16 || c.Memory < 8 || c.Memory > 1<<20 || c.Threads == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := idKey([]byte(pw), salt, c, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
