// A crawler on the official Java client: publishes stdin's lines "codec<TAB>key<TAB>value" to a topic, one
// producer per compression codec (snappy, lz4, zstd, gzip, none), with the client's common settings.
// Run with the Java 17 source launcher: java -cp 'deploy/cache/kafka/lib/*' CompressedProducer.java BOOTSTRAP TOPIC

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

public class CompressedProducer {
    public static void main(String[] args) throws Exception {
        Map<String, KafkaProducer<String, String>> producers = new HashMap<>();
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            String[] parts = line.split("\t", 3);
            sent.add(producers.computeIfAbsent(parts[0], codec -> producer(args[0], codec))
                .send(new ProducerRecord<>(args[1], parts[1], parts[2])));
        }
        for (Future<RecordMetadata> delivery : sent) {
            delivery.get();  // throws if Kafka did not confirm it
        }
        producers.values().forEach(KafkaProducer::close);
    }

    static KafkaProducer<String, String> producer(String bootstrap, String codec) {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("compression.type", codec);
        props.put("acks", "all");
        props.put("enable.idempotence", "true");
        props.put("linger.ms", "20");
        return new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
    }
}
