package config

import (
	"fmt"

	"github.com/hotline-acd/hotline/internal/spoken"
)

// Sounds is every sound hotline plays with this config, name -> language
// -> text, for hotline prompts to render and config check --sounds to
// look for: the prompts and, in each language, the number phrases the
// router says instead of Asterisk's number: media (package spoken), the
// position and wait phrases among them, made with the intro prompts.
func (c *Config) Sounds() (map[string]map[string]string, error) {
	m := make(map[string]map[string]string, len(c.Prompts))
	for name, set := range c.Prompts {
		m[name] = set
	}
	for _, l := range c.Languages {
		numbers, err := spoken.Sounds(l.Code, c.Prompts[PromptPositionIntro][l.Code], c.Prompts[PromptWaitIntro][l.Code])
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		for name, text := range numbers {
			// Load rejects a prompt named like a number sound; this keeps
			// a config built in code from overwriting one silently.
			if _, taken := c.Prompts[name]; taken {
				return nil, fmt.Errorf("config: prompt %q has the name of a number sound", name)
			}
			if m[name] == nil {
				m[name] = map[string]string{}
			}
			m[name][l.Code] = text
		}
	}
	return m, nil
}
