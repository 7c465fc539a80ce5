package org.cbirfashion.storm;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.storm.multilang.BoltMsg;
import org.apache.storm.multilang.ISerializer;
import org.apache.storm.multilang.NoOutputException;
import org.apache.storm.multilang.ShellMsg;
import org.apache.storm.multilang.SpoutMsg;
import org.apache.storm.task.TopologyContext;
import org.msgpack.core.MessageInsufficientBufferException;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePacker;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.ValueType;

/**
 * Storm's multilang protocol in MessagePack instead of JSON: the same messages (the maps Storm's JsonSerializer
 * writes and reads), one MessagePack map each, with no "end" line between them. It is the Java half of pystorm's
 * MsgpackSerializer (`streamparse_run --serializer msgpack`); Storm loads it when the topology config names it in
 * `topology.multilang.serializer`.
 *
 * <p>Why: with JSON, every tuple a Python component emits is parsed and written again as text by the worker JVM,
 * character by character; MessagePack strings and byte arrays are copied as they are. Tuple values keep their
 * types: MessagePack str is a String, bin a byte[], int a Long, float a Double, array a List, map a Map.
 */
public class MsgpackSerializer implements ISerializer {
    private static final long serialVersionUID = 1L;

    private transient MessagePacker toProcess;
    private transient MessageUnpacker fromProcess;

    @Override
    public void initialize(OutputStream processIn, InputStream processOut) {
        toProcess = MessagePack.newDefaultPacker(new BufferedOutputStream(processIn, 1 << 16));
        fromProcess = MessagePack.newDefaultUnpacker(new BufferedInputStream(processOut, 1 << 16));
    }

    @Override
    public Number connect(Map<String, Object> conf, TopologyContext context) throws IOException, NoOutputException {
        Map<String, Object> setup = new LinkedHashMap<>();
        setup.put("pidDir", context.getPIDDir());
        setup.put("conf", conf);
        setup.put("context", contextMap(context));
        writeMessage(setup);
        Object reply = readMessage();
        if (!(reply instanceof Map) || !(((Map<?, ?>) reply).get("pid") instanceof Number)) {
            throw new IOException("the shell process answered the handshake without a pid: " + reply);
        }
        return (Number) ((Map<?, ?>) reply).get("pid");
    }

    /** What the JSON protocol sends as the context (TopologyContext's own JSON form). */
    static Map<String, Object> contextMap(TopologyContext context) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("task->component", context.getTaskToComponent());
        map.put("taskid", context.getThisTaskId());
        map.put("componentid", context.getThisComponentId());
        return map;
    }

    @Override
    public void writeBoltMsg(BoltMsg msg) throws IOException {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("id", msg.getId());
        map.put("comp", msg.getComp());
        map.put("stream", msg.getStream());
        map.put("task", msg.getTask());
        map.put("tuple", msg.getTuple());
        writeMessage(map);
    }

    @Override
    public void writeSpoutMsg(SpoutMsg msg) throws IOException {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("command", msg.getCommand());
        map.put("id", msg.getId());
        writeMessage(map);
    }

    @Override
    public void writeTaskIds(List<Integer> taskIds) throws IOException {
        writeMessage(taskIds);
    }

    @Override
    public ShellMsg readShellMsg() throws IOException, NoOutputException {
        Object read = readMessage();
        if (!(read instanceof Map)) {
            throw new IOException("the shell process sent a message that is not a map: " + read);
        }
        Map<?, ?> message = (Map<?, ?>) read;
        ShellMsg shellMsg = new ShellMsg();
        String command = (String) message.get("command");
        shellMsg.setCommand(command);
        shellMsg.setId(message.get("id"));
        Object text = message.get("msg");
        if (text != null) {
            shellMsg.setMsg(text.toString());
        }
        Object stream = message.get("stream");
        shellMsg.setStream(stream == null ? "default" : (String) stream);
        Object task = message.get("task");
        shellMsg.setTask(task == null ? 0 : ((Number) task).longValue());
        Object needTaskIds = message.get("need_task_ids");
        shellMsg.setNeedTaskIds(needTaskIds == null || (Boolean) needTaskIds);
        Object tuple = message.get("tuple");
        if (tuple != null) {
            shellMsg.setTuple(castList(tuple));
        }
        Object anchors = message.get("anchors");
        if (anchors instanceof String) {
            shellMsg.addAnchor((String) anchors);
        } else if (anchors != null) {
            for (Object anchor : (List<?>) anchors) {
                shellMsg.addAnchor(anchor.toString());
            }
        }
        Object metricName = message.get("name");
        if (metricName != null && "metrics".equals(command)) {
            shellMsg.setMetricName(metricName.toString());
        }
        shellMsg.setMetricParams(message.get("params"));
        if ("log".equals(command)) {
            Object level = message.get("level");
            shellMsg.setLogLevel(level == null ? ShellMsg.ShellLogLevel.INFO.ordinal() : ((Number) level).intValue());
        }
        return shellMsg;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> castList(Object value) {
        return (List<Object>) value;
    }

    private void writeMessage(Object message) throws IOException {
        pack(toProcess, message);
        toProcess.flush();
    }

    private Object readMessage() throws IOException, NoOutputException {
        try {
            if (!fromProcess.hasNext()) {
                throw new NoOutputException("Pipe to subprocess seems to be broken! No output read.");
            }
            return unpack(fromProcess);
        } catch (MessageInsufficientBufferException end) {
            throw new NoOutputException("Pipe to subprocess seems to be broken! It ended within a message.");
        }
    }

    /** Write one value as MessagePack; map keys become strings (as in JSON), unknown objects their toString(). */
    static void pack(MessagePacker packer, Object value) throws IOException {
        if (value == null) {
            packer.packNil();
        } else if (value instanceof String) {
            packer.packString((String) value);
        } else if (value instanceof byte[]) {
            byte[] bytes = (byte[]) value;
            packer.packBinaryHeader(bytes.length);
            packer.writePayload(bytes);
        } else if (value instanceof Boolean) {
            packer.packBoolean((Boolean) value);
        } else if (value instanceof Double || value instanceof Float) {
            packer.packDouble(((Number) value).doubleValue());
        } else if (value instanceof BigInteger) {
            packer.packBigInteger((BigInteger) value);
        } else if (value instanceof Number) {
            packer.packLong(((Number) value).longValue());
        } else if (value instanceof Map) {
            Map<?, ?> map = (Map<?, ?>) value;
            packer.packMapHeader(map.size());
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                packer.packString(String.valueOf(entry.getKey()));
                pack(packer, entry.getValue());
            }
        } else if (value instanceof Collection) {
            Collection<?> items = (Collection<?>) value;
            packer.packArrayHeader(items.size());
            for (Object item : items) {
                pack(packer, item);
            }
        } else if (value instanceof Object[]) {
            Object[] items = (Object[]) value;
            packer.packArrayHeader(items.length);
            for (Object item : items) {
                pack(packer, item);
            }
        } else {
            packer.packString(value.toString());
        }
    }

    /** Read one MessagePack value as the plain Java object the JSON protocol would give. */
    static Object unpack(MessageUnpacker unpacker) throws IOException {
        ValueType type = unpacker.getNextFormat().getValueType();
        switch (type) {
            case NIL:
                unpacker.unpackNil();
                return null;
            case BOOLEAN:
                return unpacker.unpackBoolean();
            case INTEGER:
                BigInteger integer = unpacker.unpackBigInteger();
                return integer.bitLength() < 64 ? (Object) integer.longValue() : integer;
            case FLOAT:
                return unpacker.unpackDouble();
            case STRING:
                return unpacker.unpackString();
            case BINARY:
                return unpacker.readPayload(unpacker.unpackBinaryHeader());
            case ARRAY:
                int length = unpacker.unpackArrayHeader();
                List<Object> list = new ArrayList<>(length);
                for (int i = 0; i < length; i++) {
                    list.add(unpack(unpacker));
                }
                return list;
            case MAP:
                int size = unpacker.unpackMapHeader();
                Map<Object, Object> map = new LinkedHashMap<>();
                for (int i = 0; i < size; i++) {
                    Object key = unpack(unpacker);
                    map.put(key, unpack(unpacker));
                }
                return map;
            default:
                throw new IOException("MessagePack " + type + " values are not part of the multilang protocol");
        }
    }
}
