"""Conversations: a customer's reply is classified, answered from what is true (the order and
the shop's knowledge base), or handed to a person. Messaging announces each reply by task name
(`seller.handle_reply`); everything else lives here."""
