package maven

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// debianRepo is Debian's packaged Maven plugins: there is no Maven Central
// here, so every repository but ours is mirrored to it.
const debianRepo = "/usr/share/maven-repo"

// Plugin versions Debian ships (libmaven-*-plugin-java, libsurefire-java),
// pinned so that Maven does not ask for its defaults.
var pinnedPlugins = map[string]string{
	"maven-resources-plugin": "3.3.0",
	"maven-compiler-plugin":  "3.10.1",
	"maven-jar-plugin":       "3.3.0",
	"maven-install-plugin":   "3.1.0",
	"maven-deploy-plugin":    "3.0.0",
	"maven-surefire-plugin":  "2.22.3",
}

// mvnClient runs mvn with its own settings.xml and a fresh local
// repository.
type mvnClient struct {
	mvn, dir, settings string
}

var settingsTmpl = template.Must(template.New("settings").Parse(`<settings>
  <localRepository>{{.Local}}</localRepository>
  <offline>false</offline>
  <mirrors>
    <mirror><id>debian</id><mirrorOf>*,!ours</mirrorOf><url>file://{{.Debian}}</url></mirror>
  </mirrors>
  <servers>
    <server><id>ours</id><username>{{.User}}</username><password>{{.Password}}</password></server>
  </servers>
{{if .PluginGroup}}  <pluginGroups><pluginGroup>{{.PluginGroup}}</pluginGroup></pluginGroups>
  <profiles><profile><id>ours</id>
    <pluginRepositories><pluginRepository><id>ours</id><url>{{.Repo}}</url></pluginRepository></pluginRepositories>
  </profile></profiles>
  <activeProfiles><activeProfile>ours</activeProfile></activeProfiles>
{{end}}</settings>
`))

// newMvn writes a settings.xml whose server "ours" has the credentials,
// with a plugin repository at repo whose plugins of pluginGroup are found
// by prefix (none when pluginGroup is empty).
func newMvn(t testing.TB, mvn, dir, user, password, repo, pluginGroup string) *mvnClient {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := settingsTmpl.Execute(&b, map[string]string{"Local": filepath.Join(dir, "m2"), "Debian": debianRepo,
		"User": user, "Password": password, "Repo": repo, "PluginGroup": pluginGroup}); err != nil {
		t.Fatal(err)
	}
	settings := filepath.Join(dir, "settings.xml")
	writeFile(t, settings, b.Bytes())
	return &mvnClient{mvn: mvn, dir: dir, settings: settings}
}

func (m *mvnClient) run(t *testing.T, project string, args ...string) string {
	t.Helper()
	return e2etest.Run(t, project, nil, m.mvn, append([]string{"-s", m.settings, "-B", "-ntp", "-Dmaven.test.skip=true"}, args...)...)
}

func writeFile(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// project is a test Maven project, written in code.
type project struct {
	group, artifact, version string
	// sources attaches a "sources" jar.
	sources bool
	// classes are Java classes in package <pkg>: name → body of main().
	classes []string
	// deps are dependencies as group:artifact:version[:classifier].
	deps []string
	// mojo makes a Maven plugin whose goal "hello" logs this line.
	mojo string
	repo string
}

var pomTmpl = template.Must(template.New("pom").Parse(`<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>{{.Group}}</groupId>
  <artifactId>{{.Artifact}}</artifactId>
  <version>{{.Version}}</version>
  <packaging>{{if .Mojo}}maven-plugin{{else}}jar{{end}}</packaging>
  <properties>
    <maven.compiler.source>11</maven.compiler.source>
    <maven.compiler.target>11</maven.compiler.target>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>{{if .Mojo}}
    <dependency><groupId>org.apache.maven</groupId><artifactId>maven-plugin-api</artifactId><version>3.8.7</version><scope>provided</scope></dependency>
    <dependency><groupId>org.apache.maven.plugin-tools</groupId><artifactId>maven-plugin-annotations</artifactId><version>3.7.1</version><scope>provided</scope></dependency>
    <dependency><groupId>org.codehaus.plexus</groupId><artifactId>plexus-utils</artifactId><version>3.4.2</version></dependency>{{end}}{{range .Deps}}
    <dependency><groupId>{{.G}}</groupId><artifactId>{{.A}}</artifactId><version>{{.V}}</version>{{if .C}}<classifier>{{.C}}</classifier>{{end}}</dependency>{{end}}
  </dependencies>
  <repositories>
    <repository><id>ours</id><url>{{.Repo}}</url>
      <releases><enabled>true</enabled></releases><snapshots><enabled>true</enabled><updatePolicy>always</updatePolicy></snapshots>
    </repository>
  </repositories>
  <distributionManagement>
    <repository><id>ours</id><url>{{.Repo}}</url></repository>
    <snapshotRepository><id>ours</id><url>{{.Repo}}</url></snapshotRepository>
  </distributionManagement>
  <build>
    <plugins>{{range $name, $v := .Plugins}}
      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>{{$name}}</artifactId><version>{{$v}}</version>{{if and $.Sources (eq $name "maven-jar-plugin")}}
        <executions><execution><id>sources</id><phase>package</phase><goals><goal>jar</goal></goals>
          <configuration><classifier>sources</classifier><classesDirectory>${project.basedir}/src/main/java</classesDirectory></configuration>
        </execution></executions>{{end}}
      </plugin>{{end}}
    </plugins>
  </build>
</project>
`))

type dep struct{ G, A, V, C string }

// write writes the project into dir and returns dir.
func (p project) write(t testing.TB, dir string) string {
	t.Helper()
	var deps []dep
	for _, d := range p.deps {
		parts := strings.Split(d, ":")
		dd := dep{G: parts[0], A: parts[1], V: parts[2]}
		if len(parts) > 3 {
			dd.C = parts[3]
		}
		deps = append(deps, dd)
	}
	var b bytes.Buffer
	if err := pomTmpl.Execute(&b, map[string]any{"Group": p.group, "Artifact": p.artifact, "Version": p.version,
		"Deps": deps, "Repo": p.repo, "Plugins": pinnedPlugins, "Sources": p.sources, "Mojo": p.mojo}); err != nil {
		t.Fatal(err)
	}
	// There is no maven-clean-plugin in Debian's repository: start afresh.
	_ = os.RemoveAll(filepath.Join(dir, "src"))
	_ = os.RemoveAll(filepath.Join(dir, "target"))
	writeFile(t, filepath.Join(dir, "pom.xml"), b.Bytes())
	pkg := strings.ReplaceAll(p.group, "-", "_")
	if p.mojo != "" {
		src := fmt.Sprintf("package %s;\n\nimport org.apache.maven.plugin.AbstractMojo;\nimport org.apache.maven.plugins.annotations.Mojo;\n\n"+
			"@Mojo(name = \"hello\", requiresProject = false)\npublic class HelloMojo extends AbstractMojo {\n"+
			"    public void execute() { getLog().info(%q); }\n}\n", pkg, p.mojo)
		writeFile(t, filepath.Join(dir, "src/main/java", strings.ReplaceAll(pkg, ".", "/"), "HelloMojo.java"), []byte(src))
	}
	for _, c := range p.classes {
		name, body, _ := strings.Cut(c, "=")
		src := fmt.Sprintf("package %s;\n\npublic class %s {\n    public static String hello() { %s }\n}\n", pkg, name, body)
		writeFile(t, filepath.Join(dir, "src/main/java", strings.ReplaceAll(pkg, ".", "/"), name+".java"), []byte(src))
	}
	return dir
}

// TestMavenDeployAndResolve drives the example server with the real mvn:
// a release jar with a sources jar, then two builds of a SNAPSHOT, are
// deployed with a token; a second project resolves the release (and its
// sources) and the latest SNAPSHOT build from a clean local repository
// through our server only, with a password (after the 401 that makes Maven
// send it); and a Maven plugin is deployed and then run by its prefix. On
// filesystem and on S3.
func TestMavenDeployAndResolve(t *testing.T) {
	mvn := requireMvn(t)
	for _, tc := range []struct {
		name string
		opts e2etest.Options
	}{{"filesystem", e2etest.Options{}}, {"s3", e2etest.Options{S3: true}}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := e2etest.StartServer(t, tc.opts)
			deployAndResolve(t, mvn, srv)
		})
	}
}

// requireMvn returns mvn, and checks that Debian's Maven plugins are
// there.
func requireMvn(t *testing.T) string {
	mvn := e2etest.RequireTool(t, "mvn")
	if _, err := os.Stat(filepath.Join(debianRepo, "org/apache/maven/plugins/maven-deploy-plugin")); err != nil {
		e2etest.Missing(t, "Debian's Maven plugins are not installed in "+debianRepo+" (make test installs them)")
	}
	return mvn
}

func deployAndResolve(t *testing.T, mvn string, srv *e2etest.Server) {
	work := t.TempDir()
	repo := srv.URL + "/maven"
	group := "com.example." + strings.ReplaceAll(e2etest.Unique("e2e"), "-", "")
	deployer := newMvn(t, mvn, filepath.Join(work, "deployer"), srv.AdminUser, srv.Token, repo, group)

	lib := project{group: group, artifact: "lib", version: "1.0", sources: true, repo: repo,
		classes: []string{`Lib=return "lib 1.0";`}}
	libDir := lib.write(t, filepath.Join(work, "lib"))
	out := deployer.run(t, libDir, "deploy")
	t.Logf("mvn deploy lib 1.0:\n%s", tail(out, 15))
	libJar := readFile(t, filepath.Join(libDir, "target/lib-1.0.jar"))
	sourcesJar := readFile(t, filepath.Join(libDir, "target/lib-1.0-sources.jar"))

	// Deploying the same release again with other bytes is refused.
	lib.classes = []string{`Lib=return "lib 1.0 changed";`}
	lib.write(t, libDir)
	if out, err := e2etest.RunErr(t, libDir, nil, mvn, "-s", deployer.settings, "-B", "-ntp", "-Dmaven.test.skip=true", "deploy"); err == nil ||
		!strings.Contains(out, "409") {
		t.Fatalf("redeploy of release 1.0: err=%v\n%s", err, tail(out, 30))
	}

	snap := project{group: group, artifact: "snap", version: "2.0-SNAPSHOT", repo: repo,
		classes: []string{`Snap=return "build 1";`}}
	snapDir := snap.write(t, filepath.Join(work, "snap"))
	deployer.run(t, snapDir, "deploy")
	snap.classes = []string{`Snap=return "build 2";`, `Snap2=return "only in build 2";`}
	snap.write(t, snapDir)
	out = deployer.run(t, snapDir, "deploy")
	t.Logf("mvn deploy snap 2.0-SNAPSHOT (second build):\n%s", tail(out, 15))
	snapJar := readFile(t, filepath.Join(snapDir, "target/snap-2.0-SNAPSHOT.jar"))

	md := get(t, srv, "/maven/"+groupPath(group)+"/snap/2.0-SNAPSHOT/maven-metadata.xml")
	if !strings.Contains(md, "<buildNumber>2</buildNumber>") {
		t.Fatalf("version-level metadata after two builds:\n%s", md)
	}
	md = get(t, srv, "/maven/"+groupPath(group)+"/lib/maven-metadata.xml")
	if !strings.Contains(md, "<release>1.0</release>") {
		t.Fatalf("artifact-level metadata:\n%s", md)
	}

	// A consumer with a clean local repository and a password.
	consumer := newMvn(t, mvn, filepath.Join(work, "consumer"), srv.AdminUser, srv.AdminPassword, repo, group)
	app := project{group: group, artifact: "app", version: "1.0", repo: repo,
		deps:    []string{group + ":lib:1.0", group + ":lib:1.0:sources", group + ":snap:2.0-SNAPSHOT"},
		classes: []string{`App=return Lib.hello() + Snap2.hello();`}}
	appDir := app.write(t, filepath.Join(work, "app"))
	out = consumer.run(t, appDir, "compile")
	t.Logf("mvn compile app:\n%s", tail(out, 15))
	// Every checksum of ours checks out (Debian's file repository has none,
	// which Maven warns about).
	if strings.Contains(out, "Could not validate integrity of download from http") || strings.Contains(out, "Checksum validation failed, expected") {
		t.Errorf("mvn did not validate a checksum of ours:\n%s", out)
	}
	deployAndRunPlugin(t, deployer, consumer, work, repo, group)
	local := filepath.Join(consumer.dir, "m2", groupPath(group))
	for file, want := range map[string][]byte{
		"lib/1.0/lib-1.0.jar":                     libJar,
		"lib/1.0/lib-1.0-sources.jar":             sourcesJar,
		"snap/2.0-SNAPSHOT/snap-2.0-SNAPSHOT.jar": snapJar,
	} {
		if got := readFile(t, filepath.Join(local, file)); !bytes.Equal(got, want) {
			t.Errorf("resolved %s differs from the deployed one (%d bytes, want %d)", file, len(got), len(want))
		}
	}
}

// deployAndRunPlugin deploys a Maven plugin, then runs its goal by
// prefix from a clean local repository: Maven finds the prefix in the
// group-level maven-metadata.xml the server derived from the plugin's POM
// (mvn 3.8.7 does not upload group metadata itself).
func deployAndRunPlugin(t *testing.T, deployer, consumer *mvnClient, work, repo, group string) {
	plugin := project{group: group, artifact: "hello-maven-plugin", version: "1.0", repo: repo, mojo: "HELLO FROM OUR PLUGIN"}
	deployer.run(t, plugin.write(t, filepath.Join(work, "plugin")), "deploy")
	runner := filepath.Join(work, "runner")
	if err := os.MkdirAll(runner, 0o755); err != nil {
		t.Fatal(err)
	}
	out := consumer.run(t, runner, "hello:hello")
	if !strings.Contains(out, "HELLO FROM OUR PLUGIN") {
		t.Fatalf("mvn hello:hello did not run our plugin:\n%s", out)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// get fetches a path from the server with the admin token.
func get(t testing.TB, srv *e2etest.Server, path string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(srv.AdminUser, srv.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", path, resp.Status, b)
	}
	return string(b)
}
