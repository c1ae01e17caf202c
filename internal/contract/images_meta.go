package contract

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// MaxClasses is the most classes a stream can name: labels are uint8.
const MaxClasses = 256

// Channels returns the image channels m records (MetaChannels): 1 when the
// key is absent, else 1 or 3.
func (m Meta) Channels() (int, error) {
	s, ok := m[MetaChannels]
	if !ok {
		return 1, nil
	}
	c, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || (c != 1 && c != 3) {
		return 0, fmt.Errorf("metadata %s=%q is not 1 or 3", MetaChannels, s)
	}
	return c, nil
}

// SetChannels records c image channels in m, leaving the key out for 1 so
// that grey streams keep the bytes they had before channels existed. It
// returns m.
func (m Meta) SetChannels(c int) Meta {
	if c == 1 {
		delete(m, MetaChannels)
	} else {
		m[MetaChannels] = strconv.Itoa(c)
	}
	return m
}

// Classes returns the class names m records (MetaClasses), indexed by label,
// or nil when the key is absent (a FashionMNIST stream, or unlabelled data).
func (m Meta) Classes() ([]string, error) {
	s, ok := m[MetaClasses]
	if !ok {
		return nil, nil
	}
	var names []string
	if err := json.Unmarshal([]byte(s), &names); err != nil {
		return nil, fmt.Errorf("metadata %s is not a JSON list of strings: %v", MetaClasses, err)
	}
	if len(names) == 0 || len(names) > MaxClasses {
		return nil, fmt.Errorf("metadata %s names %d classes, want 1 to %d", MetaClasses, len(names), MaxClasses)
	}
	return names, nil
}

// SetClasses records names as the class names in m (nil removes the key) and
// returns m.
func (m Meta) SetClasses(names []string) Meta {
	if names == nil {
		delete(m, MetaClasses)
		return m
	}
	b, err := json.Marshal(names)
	if err != nil {
		panic("contract: " + err.Error()) // strings always marshal
	}
	m[MetaClasses] = string(b)
	return m
}
