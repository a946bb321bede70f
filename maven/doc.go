// Package maven serves a Maven repository in the standard layout
// (https://maven.apache.org/repository/layout.html) that mvn and Gradle
// deploy to and resolve from.
//
// Endpoints, relative to the base path (default /maven):
//
//	PUT, GET, HEAD  <group path>/<artifact>/<version>/<artifact>-<version>[-<classifier>].<ext>
//	PUT, GET, HEAD  …/<file>.md5 | .sha1 | .sha256 | .sha512
//	PUT, GET, HEAD  <group path>[/<artifact>[/<version>-SNAPSHOT]]/maven-metadata.xml (and its checksums)
//	GET             <directory>/        a simple HTML listing
//	DELETE          <file>, or <group path>/<artifact>/<version>/ for a whole version
//
// Files stream into storage while their MD5, SHA-1, SHA-256 and SHA-512
// are computed; they are published through core.Publish and become
// visible only once their version's document lists them. Checksums are
// served from that document for every file; a checksum a client uploads
// is compared with it (a mismatch is 400, a match 201 and stores
// nothing). maven-metadata.xml is rendered by the server from its own
// documents and cached by their ETag: an uploaded one is parsed (bounded,
// it must be XML whose coordinates are the path's) and merged, never
// stored as sent; checksums uploaded for metadata are accepted and
// dropped, since the server serves those of what it renders.
//
// Releases are immutable: deploying other bytes under a release file's
// name is 409 Conflict unless Config.AllowRedeploy; the same bytes again
// succeed. SNAPSHOT versions keep their newest Config.SnapshotBuilds
// timestamped builds, and a non-unique SNAPSHOT name
// (app-1.0-SNAPSHOT.jar) serves the newest build. Artifact-level
// versions are listed in the order they were first deployed; latest is
// the version deployed last, release the release deployed last.
//
// A delete (which needs the delete action) unlists the file or version
// from the documents, then removes the bytes; a deleted release file may
// be deployed again.
//
// Proxying: with upstreams (core.Deps.Upstream), a path this repository
// does not hold is fetched from them and cached, maven-metadata.xml for
// Config.Upstream.MetadataTTL, every other file for good after it is
// checked against the upstream's checksums; a local artifact shadows the
// upstream one (Config.Upstream.Merge lists both's versions). Scope rules
// match <groupId>:<artifactId>. See upstream.go.
//
// Auth: HTTP Basic (user and password, or user and token) and Bearer.
// A request that needs credentials and has none is 401 with
// WWW-Authenticate: Basic realm="maven", so Maven retries with the
// <server> credentials. Scopes name an artifact as <groupId>:<artifactId>:
// maven:artifact:<groupId>:<artifactId>:read|write|delete (see
// ArtifactScope).
//
// Client configuration (settings.xml):
//
//	<servers>
//	  <server><id>smartregistry</id><username>USER</username><password>TOKEN</password></server>
//	</servers>
//
// and in the pom:
//
//	<distributionManagement>
//	  <repository><id>smartregistry</id><url>http://127.0.0.1:8080/maven</url></repository>
//	  <snapshotRepository><id>smartregistry</id><url>http://127.0.0.1:8080/maven</url></snapshotRepository>
//	</distributionManagement>
//	<repositories>
//	  <repository><id>smartregistry</id><url>http://127.0.0.1:8080/maven</url>
//	    <snapshots><enabled>true</enabled></snapshots></repository>
//	</repositories>
package maven
