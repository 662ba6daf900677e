"""The service desk: people behind the assistant, who take conversations it hands over."""
