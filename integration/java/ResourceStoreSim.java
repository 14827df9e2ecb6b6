import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * ResourceStoreSim does to a directory what GeoServer's file system resource store does to its data
 * directory, and checks that the directory behaves as a local disk does.
 *
 * <p>Usage: {@code java ResourceStoreSim DIR [N]}. For N featuretype.xml files (default 30) under
 * DIR/workspaces/WS/STORE/LAYER it creates the file empty when missing, writes a {@code
 * NAME.UUID.tmp} sibling, moves it over the file with ATOMIC_MOVE and REPLACE_EXISTING and reads it
 * back; it takes and releases a FileChannel lock; it renames a workspace directory; and it polls
 * File.lastModified of a file and its directory across a rewrite. It prints one line per check and
 * exits 1 at the first failure, 2 on bad usage.
 */
public final class ResourceStoreSim {
  private final Path root;
  private int checks;

  private ResourceStoreSim(Path root) {
    this.root = root;
  }

  public static void main(String[] args) {
    if (args.length < 1 || args.length > 2) {
      System.err.println("usage: java ResourceStoreSim DIR [N]");
      System.exit(2);
    }
    int n = args.length == 2 ? Integer.parseInt(args[1]) : 30;
    ResourceStoreSim sim = new ResourceStoreSim(Path.of(args[0]));
    try {
      sim.run(n);
    } catch (Failure f) {
      System.out.println("FAIL " + f.getMessage());
      System.exit(1);
    } catch (Exception e) {
      System.out.println("FAIL unexpected " + e);
      e.printStackTrace(System.out);
      System.exit(1);
    }
    System.out.println("PASS " + sim.checks + " checks in " + sim.root);
  }

  private void run(int n) throws Exception {
    if (!Files.isDirectory(root)) {
      throw new Failure("setup: " + root + " is not a directory");
    }
    List<Path> targets = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      targets.add(
          root.resolve(
              String.format(
                  "workspaces/sim_ws%d/store%d/layer%d/featuretype.xml", i % 3, i % 2, i)));
    }
    for (int i = 0; i < n; i++) {
      writeResource(targets.get(i), featureType(i, 1));
    }
    for (int i = 0; i < n; i++) {
      checkContent("reread", targets.get(i), featureType(i, 1));
    }
    noTempFilesLeft(root.resolve("workspaces"));
    lock(root.resolve("workspaces/sim_ws0/x.xml.lock"));
    renameWorkspace();
    lastModified(targets.get(0));
  }

  /**
   * writeResource is Resource.out() and its close: the file exists (created empty when missing),
   * the content goes to a NAME.UUID.tmp sibling that is then moved over it.
   */
  private void writeResource(Path target, String content) throws IOException {
    Files.createDirectories(target.getParent());
    File file = target.toFile();
    if (!file.exists()) {
      if (!file.createNewFile()) {
        throw new Failure("create " + rel(target) + ": createNewFile returned false");
      }
      if (!file.exists() || file.length() != 0) {
        throw new Failure(
            "create " + rel(target) + ": exists " + file.exists() + ", length " + file.length());
      }
      ok("create empty", target);
    }
    Path tmp = target.resolveSibling(target.getFileName() + "." + UUID.randomUUID() + ".tmp");
    Files.write(tmp, content.getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE_NEW);
    Files.move(
        tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    if (Files.exists(tmp)) {
      throw new Failure("move " + rel(tmp) + " over " + rel(target) + ": the tmp file still exists");
    }
    checkContent("tmp+move", target, content);
  }

  private void checkContent(String check, Path p, String want) throws IOException {
    String got = new String(Files.readAllBytes(p), StandardCharsets.UTF_8);
    if (!got.equals(want)) {
      throw new Failure(
          check + " " + rel(p) + ": read " + got.length() + " chars " + quote(got) + ", want "
              + want.length() + " chars " + quote(want));
    }
    long size = new File(p.toString()).length();
    if (size != want.getBytes(StandardCharsets.UTF_8).length) {
      throw new Failure(check + " " + rel(p) + ": File.length " + size + ", want " + want.length());
    }
    ok(check, p);
  }

  /** noTempFilesLeft lists every directory below dir: no .tmp file may remain after the moves. */
  private void noTempFilesLeft(Path dir) throws IOException {
    List<String> left = new ArrayList<>();
    try (var walk = Files.walk(dir)) {
      walk.filter(p -> p.getFileName().toString().endsWith(".tmp"))
          .forEach(p -> left.add(rel(p)));
    }
    if (!left.isEmpty()) {
      throw new Failure("list " + rel(dir) + ": tmp files left after the moves: " + left);
    }
    ok("no tmp files left", dir);
  }

  /**
   * lock takes the lock GeoServer's file lock provider takes: an exclusive FileChannel.tryLock,
   * which must be granted; a second channel of this JVM must get OverlappingFileLockException while
   * it is held and the lock once it is released.
   */
  private void lock(Path p) throws IOException {
    Files.createDirectories(p.getParent());
    try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw");
        FileChannel ch = raf.getChannel()) {
      FileLock l = ch.tryLock();
      if (l == null) {
        throw new Failure("tryLock " + rel(p) + ": not granted (another process holds it?)");
      }
      if (!l.isValid() || l.isShared()) {
        throw new Failure(
            "tryLock " + rel(p) + ": valid " + l.isValid() + ", shared " + l.isShared());
      }
      ok("tryLock", p);
      try (RandomAccessFile raf2 = new RandomAccessFile(p.toFile(), "rw");
          FileChannel ch2 = raf2.getChannel()) {
        try {
          FileLock l2 = ch2.tryLock();
          throw new Failure("tryLock " + rel(p) + " again in this JVM: granted " + l2 + ", want OverlappingFileLockException");
        } catch (OverlappingFileLockException expected) {
          ok("second tryLock overlaps", p);
        }
        ch.write(java.nio.ByteBuffer.wrap("locked\n".getBytes(StandardCharsets.UTF_8)));
        l.release();
        if (l.isValid()) {
          throw new Failure("release " + rel(p) + ": the lock is still valid");
        }
        ok("release", p);
        FileLock l3 = ch2.tryLock();
        if (l3 == null) {
          throw new Failure("tryLock " + rel(p) + " after release: not granted");
        }
        l3.release();
        ok("tryLock after release", p);
      }
    }
    Files.delete(p);
    if (Files.exists(p)) {
      throw new Failure("delete " + rel(p) + ": still exists");
    }
    ok("delete lock file", p);
  }

  /** renameWorkspace moves a workspace directory, as a rename in GeoServer's catalog does. */
  private void renameWorkspace() throws IOException {
    Path from = root.resolve("workspaces/sim_old");
    Path to = root.resolve("workspaces/sim_new");
    String[] children = {
      "workspace.xml", "namespace.xml", "store/datastore.xml", "store/layer/featuretype.xml",
      "store/layer/layer.xml"
    };
    for (String c : children) {
      writeResource(from.resolve(c), "<" + c + "/>\n");
    }
    Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    if (Files.exists(from)) {
      throw new Failure("move " + rel(from) + " to " + rel(to) + ": the old directory still exists");
    }
    for (String c : children) {
      checkContent("renamed dir", to.resolve(c), "<" + c + "/>\n");
    }
    List<String> names = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(to)) {
      ds.forEach(p -> names.add(p.getFileName().toString()));
    }
    names.sort(null);
    if (!names.equals(List.of("namespace.xml", "store", "workspace.xml"))) {
      throw new Failure("list " + rel(to) + ": " + names + ", want [namespace.xml, store, workspace.xml]");
    }
    ok("rename directory", to);
  }

  /**
   * lastModified is how GeoServer notices a change: it polls File.lastModified. A rewrite by
   * tmp+move must advance it on the file and on its directory, at millisecond resolution.
   */
  private void lastModified(Path p) throws IOException, InterruptedException {
    File file = p.toFile();
    File dir = p.getParent().toFile();
    long fileBefore = file.lastModified();
    long dirBefore = dir.lastModified();
    if (fileBefore == 0 || dirBefore == 0) {
      throw new Failure("lastModified " + rel(p) + ": 0 before the rewrite (file " + fileBefore + ", dir " + dirBefore + ")");
    }
    Thread.sleep(20);
    writeResource(p, featureType(0, 2));
    long fileAfter = file.lastModified();
    long dirAfter = dir.lastModified();
    if (fileAfter <= fileBefore) {
      throw new Failure(
          "lastModified " + rel(p) + ": " + fileAfter + " after the rewrite, was " + fileBefore + " 20 ms before");
    }
    ok("file lastModified advanced " + (fileAfter - fileBefore) + " ms", p);
    if (dirAfter <= dirBefore) {
      throw new Failure(
          "lastModified " + rel(p.getParent()) + ": " + dirAfter + " after rewriting a file in it, was "
              + dirBefore + " 20 ms before");
    }
    ok("dir lastModified advanced " + (dirAfter - dirBefore) + " ms", p.getParent());
  }

  private static String featureType(int i, int version) {
    return "<featureType>\n  <id>FeatureTypeInfoImpl-sim-" + i + "</id>\n  <name>layer" + i
        + "</name>\n  <title>version " + version + "</title>\n</featureType>\n";
  }

  private void ok(String check, Path p) {
    checks++;
    System.out.println("ok   " + check + ": " + rel(p));
  }

  private String rel(Path p) {
    return root.relativize(p).toString();
  }

  private static String quote(String s) {
    return "\"" + (s.length() > 80 ? s.substring(0, 80) + "…" : s).replace("\n", "\\n") + "\"";
  }

  /** Failure is a check that did not hold; its message names the check and the path. */
  private static final class Failure extends IOException {
    private static final long serialVersionUID = 1L;

    Failure(String msg) {
      super(msg);
    }
  }
}
