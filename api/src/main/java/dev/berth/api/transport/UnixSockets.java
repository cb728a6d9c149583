package dev.berth.api.transport;

import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.grpc.okhttp.OkHttpServerBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import javax.net.ServerSocketFactory;
import javax.net.SocketFactory;

/**
 * gRPC over unix sockets without netty: JDK unix-domain {@link SocketChannel}s dressed as {@link
 * Socket}s and {@link ServerSocket}s, so grpc-java's OkHttp transport (which takes socket
 * factories) serves and calls on a socket path. Used where a JVM's start-up and footprint count:
 * the CLI (a fresh JVM per command) and the shim (one JVM per container). Netty's epoll transport
 * costs such a JVM its native-library load, event loops and pipelines (~100 ms of a CLI command,
 * measured); this path is pure Java with one blocking reader thread per connection. berthd itself
 * keeps netty (many connections, long-lived).
 *
 * <p>The TCP addresses grpc hands to the factories are ignored: channels and servers are built for
 * a placeholder address and every connection goes to the one socket path.
 */
public final class UnixSockets {
  private UnixSockets() {}

  /**
   * A plaintext channel to the gRPC server on {@code path}. No retries: on a connection that ends
   * mid-call the OkHttp transport reports the call as never processed, and grpc would transparently
   * send it again (a Create or a Start, perhaps to a server restarted meanwhile); the caller
   * decides what a lost call means.
   */
  public static ManagedChannel channel(Path path) {
    // The address is a placeholder: the socket factory connects every transport to the path.
    // An IP literal needs no name lookup, and no proxy applies to a unix socket.
    return OkHttpChannelBuilder.forAddress("127.0.0.1", 1, InsecureChannelCredentials.create())
        .socketFactory(clientFactory(path))
        .proxyDetector(address -> null)
        .overrideAuthority("localhost")
        .disableRetry()
        .build();
  }

  /**
   * A plaintext gRPC server builder that listens on {@code path} (services and executors to add).
   */
  public static OkHttpServerBuilder server(Path path) {
    return OkHttpServerBuilder.forPort(0, InsecureServerCredentials.create())
        .socketFactory(serverFactory(path));
  }

  /** Connects every socket it makes to {@code path}. */
  private static SocketFactory clientFactory(Path path) {
    UnixDomainSocketAddress address = UnixDomainSocketAddress.of(path);
    return new SocketFactory() {
      @Override
      public Socket createSocket() throws IOException {
        return connect();
      }

      @Override
      public Socket createSocket(String host, int port) throws IOException {
        return connect();
      }

      @Override
      public Socket createSocket(String host, int port, InetAddress localHost, int localPort)
          throws IOException {
        return connect();
      }

      @Override
      public Socket createSocket(InetAddress host, int port) throws IOException {
        return connect();
      }

      @Override
      public Socket createSocket(
          InetAddress address0, int port, InetAddress localAddress, int localPort)
          throws IOException {
        return connect();
      }

      private Socket connect() throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
          channel.connect(address);
        } catch (IOException e) {
          channel.close();
          // The JDK's text is the errno's ("No such file or directory", "Connection refused",
          // "Permission denied"), which clients turn into their one-line errors.
          throw e;
        }
        return new ChannelSocket(channel);
      }
    };
  }

  /**
   * Server sockets bound to {@code path} whatever address they are asked to bind. The file is
   * created with the process's umask; callers restrict it afterwards.
   */
  private static ServerSocketFactory serverFactory(Path path) {
    return new ServerSocketFactory() {
      @Override
      public ServerSocket createServerSocket() throws IOException {
        return new ChannelServerSocket(path);
      }

      @Override
      public ServerSocket createServerSocket(int port) throws IOException {
        return new ChannelServerSocket(path);
      }

      @Override
      public ServerSocket createServerSocket(int port, int backlog) throws IOException {
        return new ChannelServerSocket(path);
      }

      @Override
      public ServerSocket createServerSocket(int port, int backlog, InetAddress ifAddress)
          throws IOException {
        return new ChannelServerSocket(path);
      }
    };
  }

  /**
   * A connected unix-domain channel as a {@link Socket}. Reads and writes go straight to the
   * channel, which allows one reader and one writer at once (the streams of {@code
   * Channels.newInputStream} would serialise them on the channel's blocking lock, and HTTP/2 reads
   * and writes concurrently). TCP options are no-ops.
   */
  static final class ChannelSocket extends Socket {
    private final SocketChannel channel;
    private final InputStream in;
    private final OutputStream out;

    ChannelSocket(SocketChannel channel) throws SocketException {
      super((java.net.SocketImpl) null);
      this.channel = channel;
      this.in =
          new InputStream() {
            @Override
            public int read() throws IOException {
              byte[] one = new byte[1];
              int n = read(one, 0, 1);
              return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
              if (len == 0) return 0;
              int n;
              do {
                n = channel.read(ByteBuffer.wrap(b, off, len));
              } while (n == 0);
              return n;
            }

            @Override
            public void close() throws IOException {
              ChannelSocket.this.close();
            }
          };
      this.out =
          new OutputStream() {
            @Override
            public void write(int b) throws IOException {
              write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
              ByteBuffer buf = ByteBuffer.wrap(b, off, len);
              while (buf.hasRemaining()) channel.write(buf);
            }

            @Override
            public void close() throws IOException {
              ChannelSocket.this.close();
            }
          };
    }

    @Override
    public InputStream getInputStream() {
      return in;
    }

    @Override
    public OutputStream getOutputStream() {
      return out;
    }

    @Override
    public void setTcpNoDelay(boolean on) {}

    @Override
    public boolean getTcpNoDelay() {
      return true;
    }

    @Override
    public void setSoTimeout(int timeout) {}

    @Override
    public int getSoTimeout() {
      return 0;
    }

    @Override
    public void setKeepAlive(boolean on) {}

    @Override
    public boolean isConnected() {
      return channel.isConnected();
    }

    @Override
    public boolean isClosed() {
      return !channel.isOpen();
    }

    @Override
    public void shutdownOutput() throws IOException {
      channel.shutdownOutput();
    }

    @Override
    public void shutdownInput() throws IOException {
      channel.shutdownInput();
    }

    @Override
    public SocketAddress getRemoteSocketAddress() {
      try {
        return channel.getRemoteAddress();
      } catch (IOException e) {
        return null;
      }
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
      try {
        return channel.getLocalAddress();
      } catch (IOException e) {
        return null;
      }
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }

    @Override
    public String toString() {
      return "unix:" + getRemoteSocketAddress();
    }
  }

  /** A unix-domain server channel as a {@link ServerSocket}; binds to its path on any bind. */
  static final class ChannelServerSocket extends ServerSocket {
    private final Path path;
    private ServerSocketChannel channel;

    ChannelServerSocket(Path path) throws IOException {
      super(); // unbound: the platform socket it carries is never created
      this.path = path;
    }

    @Override
    public void bind(SocketAddress ignored) throws IOException {
      bind(ignored, 0);
    }

    @Override
    public void bind(SocketAddress ignored, int backlog) throws IOException {
      ServerSocketChannel c = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      c.bind(UnixDomainSocketAddress.of(path), backlog);
      channel = c;
    }

    @Override
    public Socket accept() throws IOException {
      if (channel == null) throw new SocketException("not bound");
      return new ChannelSocket(channel.accept());
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
      return channel == null ? null : UnixDomainSocketAddress.of(path);
    }

    @Override
    public boolean isBound() {
      return channel != null;
    }

    @Override
    public boolean isClosed() {
      return channel != null && !channel.isOpen();
    }

    @Override
    public void close() throws IOException {
      if (channel != null) channel.close();
    }
  }
}
