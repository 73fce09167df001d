-- The hello_world tables as TechEmpower's own script makes them
-- (toolset/databases/postgres/create-postgres.sql in
-- TechEmpower/FrameworkBenchmarks): the same tables, column names and
-- types, 10,000 worlds with random numbers from 1 to 10,000 and the 12
-- fortunes. Unquoted names fold to lower case: the tables are `world` and
-- `fortune`, the column `randomnumber`. TechEmpower's script also makes
-- quoted "World" and "Fortune" copies for frameworks that want capitals,
-- and enables pg_stat_statements; no app here reads those, so they are
-- left out. Run by bench/setup.sh as benchmarkdbuser, who owns hello_world
-- (TechEmpower runs it as that user too).
BEGIN;

CREATE TABLE World (
  id integer NOT NULL,
  randomNumber integer NOT NULL DEFAULT 0,
  PRIMARY KEY (id)
);

INSERT INTO World (id, randomNumber)
SELECT n, least(floor(random() * 10000 + 1), 10000)
FROM generate_series(1, 10000) AS s(n);

CREATE TABLE Fortune (
  id integer NOT NULL,
  message varchar(2048) NOT NULL,
  PRIMARY KEY (id)
);

INSERT INTO Fortune (id, message) VALUES
  (1, 'fortune: No such file or directory'),
  (2, 'A computer scientist is someone who fixes things that aren''t broken.'),
  (3, 'After enough decimal places, nobody gives a damn.'),
  (4, 'A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1'),
  (5, 'A computer program does what you tell it to do, not what you want it to do.'),
  (6, 'Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen'),
  (7, 'Any program that runs right is obsolete.'),
  (8, 'A list is only as strong as its weakest link. — Donald Knuth'),
  (9, 'Feature: A bug with seniority.'),
  (10, 'Computers make very fast, very accurate mistakes.'),
  (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
  (12, 'フレームワークのベンチマーク');

COMMIT;
