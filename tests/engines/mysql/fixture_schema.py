"""A database holding every item of the dump checklist, as statements to run one by one."""

from __future__ import annotations

CHECKLIST_SCHEMA = [
    """CREATE TABLE parent (
        id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, UNIQUE KEY uq_name (name)
    ) ENGINE=InnoDB AUTO_INCREMENT=50""",
    """CREATE TABLE child (
        id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
        parent_id INT, note TEXT, price DECIMAL(30,10), ratio FLOAT, precise DOUBLE,
        flags BIT(10), born DATETIME(6), happened TIMESTAMP NULL, lasted TIME, yr YEAR, day DATE,
        mood ENUM('happy','sad'), tags SET('a','b','c'), doc JSON, raw VARBINARY(20), fixed BINARY(4),
        big LONGBLOB, place POINT, secret INT INVISIBLE,
        doubled BIGINT AS (id * 2) VIRTUAL, summary VARCHAR(60) AS (LEFT(note, 10)) STORED,
        KEY idx_born (born),
        CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE
    )""",
    "CREATE TABLE `wéird ``name`` ☃` (`sélect` INT PRIMARY KEY, `order` VARCHAR(10)) ENGINE=InnoDB",
    "CREATE TABLE legacy (id INT PRIMARY KEY, t VARCHAR(10)) ENGINE=MyISAM",
    "CREATE TABLE zeros (id INT AUTO_INCREMENT PRIMARY KEY, d DATE, dt DATETIME)",
    "CREATE TABLE empty_table (id INT PRIMARY KEY, latin VARCHAR(10) CHARACTER SET latin1)",
    "CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, message VARCHAR(100))",
    "INSERT INTO parent (id, name) VALUES (1, 'one'), (2, 'two'), (3, 'NULL')",
    r"""INSERT INTO child (parent_id, note, price, ratio, precise, flags, born, happened, lasted, yr, day,
        mood, tags, doc, raw, fixed, big, place, secret) VALUES
        (1, 'line1\r\nline2\\back ''quote'' "dq" \0 nul \Z ctrlz', 12345678901234567890.0123456789,
         0.1, 0.1, b'1010101010', '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07', '-838:59:59',
         1901, '2024-01-01', 'sad', 'a,c', '{"k": [1, 2.5, "ü"]}', 0x00FF10, 0x01020304, REPEAT(0xAB, 3000),
         POINT(1.5, -2.25), 42),
        (2, 'NULL', -0.000001, 3.4028234e38, 1.7976931348623157e308, b'0', '1000-01-01 00:00:00', NULL,
         '838:59:59', 2155, '9999-12-31', 'happy', '', '[]', '', 0x00000000, '', NULL, NULL),
        (NULL, NULL, NULL, 1.17549435e-38, 4.9e-324, NULL, NULL, NULL, '-00:00:01', NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL)""",
    "INSERT INTO `wéird ``name`` ☃` VALUES (1, 'ö🙂'), (2, '`')",
    "INSERT INTO legacy VALUES (1, 'myisam')",
    "SET SESSION sql_mode = ''",
    "INSERT INTO zeros (id, d, dt) VALUES (0, '0000-00-00', '0000-00-00 00:00:00'), (5, '2020-00-00', NULL)",
    "SET SESSION sql_mode = DEFAULT",
    "CREATE TABLE versioned (id INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING",
    "INSERT INTO versioned VALUES (1, 1), (2, 2)",
    "UPDATE versioned SET v = 10 WHERE id = 1",
    """CREATE TABLE versioned_explicit (
        id INT PRIMARY KEY, v INT,
        valid_from TIMESTAMP(6) GENERATED ALWAYS AS ROW START INVISIBLE,
        valid_to TIMESTAMP(6) GENERATED ALWAYS AS ROW END INVISIBLE,
        PERIOD FOR SYSTEM_TIME (valid_from, valid_to)
    ) WITH SYSTEM VERSIONING""",
    "INSERT INTO versioned_explicit (id, v) VALUES (1, 1)",
    "CREATE FUNCTION add_tax(amount DECIMAL(30,10)) RETURNS DECIMAL(30,10) DETERMINISTIC RETURN amount * 1.2",
    """CREATE PROCEDURE log_and_count(IN msg VARCHAR(100), OUT total INT)
    BEGIN
        -- a comment; with a semicolon
        INSERT INTO audit (message) VALUES (CONCAT(msg, ';', 'done'));
        SELECT COUNT(*) INTO total FROM audit; /* block; comment */
    END""",
    "CREATE VIEW base_view AS SELECT id, name, add_tax(id) AS taxed FROM parent",
    "CREATE VIEW a_view_on_view AS SELECT name, taxed FROM base_view WHERE taxed > 1",
    "CREATE VIEW `vue ☃` AS SELECT `sélect` FROM `wéird ``name`` ☃`",
    "CREATE TRIGGER audit_first AFTER INSERT ON parent FOR EACH ROW "
    "INSERT INTO audit (message) VALUES (CONCAT('first ', NEW.name))",
    "CREATE TRIGGER audit_second AFTER INSERT ON parent FOR EACH ROW FOLLOWS audit_first "
    "INSERT INTO audit (message) VALUES (CONCAT('second ', NEW.name))",
    "CREATE TRIGGER audit_zero AFTER INSERT ON parent FOR EACH ROW PRECEDES audit_first "
    "INSERT INTO audit (message) VALUES ('zero')",
    """CREATE TRIGGER child_guard BEFORE UPDATE ON child FOR EACH ROW
    BEGIN
        IF NEW.price < 0 THEN SET NEW.price = 0; END IF;
    END""",
    "CREATE EVENT nightly_cleanup ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE "
    "DO DELETE FROM audit WHERE id < 0",
    "CREATE SEQUENCE ticket_numbers START WITH 1000 INCREMENT BY 5",
    "SELECT NEXTVAL(ticket_numbers)",
    "CREATE SEQUENCE countdown START WITH -1 INCREMENT BY -1 MINVALUE -1000 MAXVALUE -1 CACHE 0 CYCLE",
    "SELECT NEXTVAL(countdown)",
]
