package maven

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// pom is the part of a POM that says whether it is a Maven plugin and
// under which prefix its goals are called.
type pom struct {
	ArtifactID string `xml:"artifactId"`
	Name       string `xml:"name"`
	Packaging  string `xml:"packaging"`
	Build      struct {
		Plugins []struct {
			ArtifactID    string `xml:"artifactId"`
			Configuration struct {
				GoalPrefix string `xml:"goalPrefix"`
			} `xml:"configuration"`
		} `xml:"plugins>plugin"`
	} `xml:"build"`
}

// ParsePluginPOM reads a POM and, when it is a Maven plugin
// (<packaging>maven-plugin</packaging>), returns its group-level
// metadata entry: the goalPrefix configured for maven-plugin-plugin, or
// the one Maven derives from the artifactId ("maven-foo-plugin" and
// "foo-maven-plugin" give "foo"). ok is false for anything else,
// malformed POMs included.
func ParsePluginPOM(b []byte) (Plugin, bool) {
	var p pom
	dec := xml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&p); err != nil || strings.TrimSpace(p.Packaging) != "maven-plugin" {
		return Plugin{}, false
	}
	artifact := strings.TrimSpace(p.ArtifactID)
	if ValidateID("artifactId", artifact) != nil {
		return Plugin{}, false
	}
	prefix := ""
	for _, pl := range p.Build.Plugins {
		if strings.TrimSpace(pl.ArtifactID) == "maven-plugin-plugin" {
			prefix = strings.TrimSpace(pl.Configuration.GoalPrefix)
		}
	}
	if prefix == "" {
		prefix = goalPrefix(artifact)
	}
	if ValidateID("prefix", prefix) != nil || len(p.Name) > maxID {
		return Plugin{}, false
	}
	name := strings.TrimSpace(p.Name)
	if name == "" {
		name = artifact
	}
	return Plugin{Name: name, Prefix: prefix, ArtifactID: artifact}, true
}

// goalPrefix is the prefix Maven derives from a plugin's artifactId.
func goalPrefix(artifact string) string {
	if s, ok := strings.CutSuffix(artifact, "-maven-plugin"); ok {
		return s
	}
	if s, ok := strings.CutPrefix(artifact, "maven-"); ok {
		if s, ok := strings.CutSuffix(s, "-plugin"); ok {
			return s
		}
	}
	return strings.TrimSuffix(artifact, "-plugin")
}

// cappedBuffer keeps what is written to it up to max bytes; past that it
// keeps nothing and says so.
type cappedBuffer struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if !c.over && c.buf.Len()+len(p) <= c.max {
		c.buf.Write(p)
	} else {
		c.over = true
		c.buf.Reset()
	}
	return len(p), nil
}
